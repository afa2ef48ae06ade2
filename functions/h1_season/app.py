from frontline.h1.api import season_router
from frontline.web import make_resolver

app = make_resolver(season_router)


def lambda_handler(event, context):
    return app.resolve(event, context)
