from frontline.accounts.routes import me_router
from frontline.web import make_resolver

app = make_resolver(me_router)


def lambda_handler(event, context):
    return app.resolve(event, context)
