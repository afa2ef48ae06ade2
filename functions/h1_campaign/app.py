from frontline.h1.api import campaign_router
from frontline.web import make_resolver

app = make_resolver(campaign_router)


def lambda_handler(event, context):
    return app.resolve(event, context)
