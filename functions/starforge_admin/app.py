from frontline.starforge.api import admin_router
from frontline.web import make_resolver

app = make_resolver(admin_router)


def lambda_handler(event, context):
    return app.resolve(event, context)
