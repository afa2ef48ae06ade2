from frontline.h1.rebroadcast import router
from frontline.web import make_resolver

app = make_resolver(router)


def lambda_handler(event, context):
    return app.resolve(event, context)
