import threading

from frontline.local import invoke
from frontline.local.template import Function


def test_invocations_run_one_at_a_time_like_one_container(tmp_path):
    """powertools keeps the current event in process-wide state: overlapping invocations would mix
    requests, so the local runtime never overlaps them."""
    (tmp_path / "app.py").write_text(
        "import threading, time\n"
        "active = []\n"
        "def lambda_handler(event, context):\n"
        "    active.append(event['n'])\n"
        "    time.sleep(0.02)\n"
        "    seen = list(active)\n"
        "    active.remove(event['n'])\n"
        "    return seen\n"
    )
    function = Function("Probe", tmp_path, "app.lambda_handler", 3, {})
    results = []
    threads = [threading.Thread(target=lambda n=n: results.append(invoke.invoke(function, {"n": n}))) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [[n] for n in range(6)]
