from frontline.accounts.routes import auth_router
from frontline.web import make_resolver

app = make_resolver(auth_router)


def lambda_handler(event, context):
    return app.resolve(event, context)
