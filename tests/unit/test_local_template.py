import pytest

from frontline.local import template
from frontline.local.events import http_api_event
from frontline.local.server import Router
from tests.conftest import PROJECT_ROOT

TEMPLATE_TEXT = """
Parameters:
  Rate: {Type: Number, Default: 5}
  Stage: {Type: String, Default: dev}
Conditions:
  OneMinute: !Equals [!Ref Rate, 1]
  NotOneMinute: !Not [!Condition OneMinute]
Globals:
  Function:
    Timeout: 9
    Environment:
      Variables:
        STAGE: !Ref Stage
        QUEUE_URL: !Ref WorkQueue
Resources:
  WorkQueue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 40
      RedrivePolicy: {deadLetterTargetArn: !GetAtt WorkDlq.Arn, maxReceiveCount: 3}
  WorkDlq: {Type: AWS::SQS::Queue}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/fn
      Handler: app.lambda_handler
      Environment: {Variables: {NAME: !Sub "fn-${Stage}"}}
      Events:
        Get: {Type: HttpApi, Properties: {Method: get, Path: "/api/things/{id}"}}
        Tick: {Type: Schedule, Properties: {Schedule: !If [OneMinute, "rate(1 minute)", !Sub "rate(${Rate} minutes)"]}}
        Work: {Type: SQS, Properties: {Queue: !GetAtt WorkQueue.Arn, BatchSize: 5,
                                       FunctionResponseTypes: [ReportBatchItemFailures]}}
"""


def test_reads_routes_schedules_queues_and_environment(tmp_path):
    path = tmp_path / "template.yaml"
    path.write_text(TEMPLATE_TEXT)
    app = template.read(path)
    assert app.routes == [template.Route("GET", "/api/things/{id}", "Fn")]
    assert app.schedules == [template.Schedule("Fn", "Tick", 300, None)]
    assert app.queue_triggers == [template.QueueTrigger("Fn", "WorkQueue", 5, True)]
    assert app.queues["WorkQueue"].dead_letter_queue == "WorkDlq"
    assert app.queues["WorkQueue"].max_receive_count == 3
    fn = app.functions["Fn"]
    assert fn.timeout == 9 and fn.code_uri == tmp_path / "functions/fn"
    assert fn.environment == {"STAGE": "dev", "QUEUE_URL": "local://queue/WorkQueue", "NAME": "fn-dev"}
    assert template.read(path, {"Rate": "1"}).schedules[0].rate_seconds == 60
    evaluate = template.Evaluator({"Rate": 5}, conditions=template.load(path)["Conditions"])
    assert evaluate.condition("NotOneMinute") is True
    assert evaluate({"Fn::If": ["NotOneMinute", "many", "one"]}) == "many"


def test_the_project_template_declares_health():
    app = template.read(PROJECT_ROOT / "template.yaml")
    assert template.Route("GET", "/api/health", "HealthFunction") in app.routes
    for route in app.routes:
        assert (app.functions[route.function].code_uri / "app.py").exists()


@pytest.mark.parametrize("expression, seconds", [("rate(1 minute)", 60), ("rate(2 hours)", 7200)])
def test_rate_expressions(expression, seconds):
    assert template.rate_seconds(expression) == seconds


def test_cron_expressions_are_refused_clearly():
    with pytest.raises(ValueError, match="rate"):
        template.rate_seconds("cron(0 12 * * ? *)")


def test_router_prefers_exact_paths_and_extracts_parameters():
    router = Router([template.Route("GET", "/api/h1/seasons/{season}", "A"), template.Route("GET", "/api/h1/seasons/latest", "B")])
    assert router.match("GET", "/api/h1/seasons/latest")[0].function == "B"
    route, params = router.match("GET", "/api/h1/seasons/12")
    assert route.function == "A" and params == {"season": "12"}
    assert router.match("POST", "/api/h1/seasons/12") is None


def test_http_api_event_has_payload_2_shape():
    event = http_api_event(method="POST", raw_path="/x", raw_query="a=1&a=2&b=", headers={"Cookie": "s=1; t=2", "X-Y": "z"},
                           body=b"action=get", route_key="POST /x", path_parameters={})
    assert event["version"] == "2.0" and event["routeKey"] == "POST /x"
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["cookies"] == ["s=1", "t=2"] and event["headers"]["x-y"] == "z"
    assert event["body"] == "action=get" and event["isBase64Encoded"] is False
    assert event["requestContext"]["http"]["method"] == "POST"
