from frontline.accounts.routes import reviews_router
from frontline.web import make_resolver

app = make_resolver(reviews_router)


def lambda_handler(event, context):
    return app.resolve(event, context)
