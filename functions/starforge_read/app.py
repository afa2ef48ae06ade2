from frontline.starforge.api import read_router
from frontline.web import make_resolver

app = make_resolver(read_router)


def lambda_handler(event, context):
    return app.resolve(event, context)
