from frontline.deploy_hook import handle


def lambda_handler(event, context):
    handle(event, context)
