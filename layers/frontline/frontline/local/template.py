"""Read template.yaml: the functions, their HTTP routes, schedules and queue triggers.

The YAML loader understands CloudFormation's short tags (``!Ref``, ``!Sub``, ``!GetAtt``, ``!If``…),
and a small evaluator resolves the intrinsics the local runtime needs against parameter defaults
and local stand-ins for resources (queue URLs, for example).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class CloudFormationLoader(yaml.SafeLoader):
    pass


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


CloudFormationLoader.add_multi_constructor("!", _construct_tag)


def load(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=CloudFormationLoader)  # noqa: S506 (safe loader subclass)


class UnsupportedIntrinsic(ValueError):
    pass


@dataclass
class Evaluator:
    """Resolves intrinsic functions against parameter values and local resource stand-ins."""

    parameters: dict[str, Any]
    resources: dict[str, Any] = field(default_factory=dict)
    conditions: dict[str, Any] = field(default_factory=dict)

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) != 1:
            return {k: self(v) for k, v in value.items()}
        (key, arg), = value.items()
        if key == "Ref":
            return self._ref(arg)
        if key == "Fn::Sub":
            template, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self(arg[1]))
            return re.sub(r"\$\{([^}!]+)\}", lambda m: str(extra.get(m.group(1), self._ref(m.group(1)))), template)
        if key == "Fn::GetAtt":
            return self.resources.get(".".join(arg), f"local-{'.'.join(arg)}")
        if key == "Fn::If":
            name, when_true, when_false = arg
            return self(when_true if self.condition(name) else when_false)
        if key == "Fn::Equals":
            left, right = self(arg)
            return str(left) == str(right)
        if key == "Fn::Not":
            return not self(arg[0])
        if key == "Fn::Condition":
            return self.condition(arg)
        if key == "Fn::Join":
            separator, items = arg
            return separator.join(str(i) for i in self(items))
        if key.startswith("Fn::"):
            raise UnsupportedIntrinsic(f"the local runtime does not evaluate {key}")
        return {key: self(arg)}

    def condition(self, name: str) -> bool:
        return bool(self(self.conditions[name]))

    def _ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name in self.resources:
            return self.resources[name]
        if name.startswith("AWS::"):
            return {"AWS::Region": "local", "AWS::AccountId": "000000000000", "AWS::URLSuffix": "localhost"}.get(
                name, name
            )
        return f"local-{name}"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Schedule:
    function: str
    name: str
    rate_seconds: int
    input: str | None


@dataclass(frozen=True)
class QueueTrigger:
    function: str
    queue: str
    batch_size: int
    report_batch_item_failures: bool


@dataclass
class Function:
    name: str
    code_uri: Path
    handler: str
    timeout: int
    environment: dict[str, str]


@dataclass
class Queue:
    name: str
    visibility_timeout: int
    dead_letter_queue: str | None
    max_receive_count: int


@dataclass
class Application:
    functions: dict[str, Function]
    routes: list[Route]
    schedules: list[Schedule]
    queue_triggers: list[QueueTrigger]
    queues: dict[str, Queue]


_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> int:
    match = _RATE.match(expression.strip())
    if not match:
        raise ValueError(f"the local runtime fires rate(...) schedules only, not {expression!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


def local_queue_url(logical_id: str) -> str:
    return f"local://queue/{logical_id}"


def read(template_path: Path, parameter_overrides: dict[str, str] | None = None) -> Application:
    template = load(template_path)
    root = template_path.parent
    parameters = {
        name: (parameter_overrides or {}).get(name, spec.get("Default", ""))
        for name, spec in (template.get("Parameters") or {}).items()
    }
    resources = template.get("Resources") or {}
    queue_ids = [name for name, res in resources.items() if res.get("Type") == "AWS::SQS::Queue"]
    stand_ins: dict[str, Any] = {}
    for name in queue_ids:
        stand_ins[name] = local_queue_url(name)
        stand_ins[f"{name}.QueueUrl"] = local_queue_url(name)
        stand_ins[f"{name}.Arn"] = f"arn:local:sqs:{name}"
        stand_ins[f"{name}.QueueName"] = name
    evaluate = Evaluator(parameters, stand_ins, template.get("Conditions") or {})

    globals_fn = (template.get("Globals") or {}).get("Function") or {}
    global_env = evaluate((globals_fn.get("Environment") or {}).get("Variables") or {})

    queues = {}
    for name in queue_ids:
        props = evaluate(resources[name].get("Properties") or {})
        redrive = props.get("RedrivePolicy") or {}
        dlq_arn = redrive.get("deadLetterTargetArn")
        queues[name] = Queue(
            name=name,
            visibility_timeout=int(props.get("VisibilityTimeout", 30)),
            dead_letter_queue=dlq_arn.rsplit(":", 1)[-1] if dlq_arn else None,
            max_receive_count=int(redrive.get("maxReceiveCount", 0) or 0),
        )

    functions: dict[str, Function] = {}
    routes: list[Route] = []
    schedules: list[Schedule] = []
    triggers: list[QueueTrigger] = []
    for name, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource.get("Properties") or {}
        env = dict(global_env)
        env.update(evaluate((props.get("Environment") or {}).get("Variables") or {}))
        functions[name] = Function(
            name=name,
            code_uri=root / props["CodeUri"],
            handler=props.get("Handler", "app.lambda_handler"),
            timeout=int(props.get("Timeout", globals_fn.get("Timeout", 3))),
            environment={k: str(v) for k, v in env.items()},
        )
        for event_name, event in (props.get("Events") or {}).items():
            kind, event_props = event.get("Type"), evaluate(event.get("Properties") or {})
            if kind == "HttpApi":
                routes.append(Route(event_props["Method"].upper(), event_props["Path"], name))
            elif kind in ("Schedule", "ScheduleV2"):
                if event_props.get("Enabled", True) is False or event_props.get("State") == "DISABLED":
                    continue
                expression = event_props.get("Schedule") or event_props.get("ScheduleExpression")
                schedules.append(Schedule(name, event_name, rate_seconds(expression), event_props.get("Input")))
            elif kind == "SQS":
                queue = event_props["Queue"].rsplit(":", 1)[-1]
                triggers.append(
                    QueueTrigger(
                        name,
                        queue,
                        int(event_props.get("BatchSize", 10)),
                        "ReportBatchItemFailures" in (event_props.get("FunctionResponseTypes") or []),
                    )
                )
    return Application(functions, routes, schedules, triggers, queues)
