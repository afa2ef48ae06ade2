from frontline.starforge.worker import handle_batch, metrics


@metrics.log_metrics
def lambda_handler(event, context):
    return handle_batch(event, context)
