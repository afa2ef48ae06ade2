"""Load a function's handler from its CodeUri and invoke it in-process, as Lambda would."""

from __future__ import annotations

import importlib.util
import threading
import time
import uuid
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable

from frontline.local.template import Function

_modules: dict[str, ModuleType] = {}
_lock = threading.Lock()
# Lambda runs one request per container. Powertools' resolvers keep the current event in a class
# attribute shared by the whole process, so concurrent in-process invocations would read each other's
# requests: the local runtime runs one invocation at a time, like a single container.
_invocation = threading.RLock()


@dataclass
class LambdaContext:
    function_name: str
    timeout_seconds: int
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"

    def __post_init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + self.timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - time.monotonic()) * 1000), 0)


def load_handler(function: Function) -> Callable[[dict, Any], Any]:
    """Import ``<CodeUri>/<module>.py`` by file path under a name of its own (no sys.path edits)."""
    module_name, attribute = function.handler.rsplit(".", 1)
    key = f"frontline_function_{function.name}"
    with _lock:
        module = _modules.get(key)
        if module is None:
            path = function.code_uri / f"{module_name.replace('.', '/')}.py"
            spec = importlib.util.spec_from_file_location(key, path)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load handler module {path}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            _modules[key] = module
    return getattr(module, attribute)


def invoke(function: Function, event: dict) -> Any:
    handler = load_handler(function)
    with _invocation:
        return handler(event, LambdaContext(function.name, function.timeout))
