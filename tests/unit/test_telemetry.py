from frontline.telemetry import new_metrics


def test_metrics_flush_by_themselves_without_the_environment(monkeypatch, capsys):
    monkeypatch.delenv("POWERTOOLS_METRICS_NAMESPACE", raising=False)
    metrics = new_metrics()
    for _ in range(150):  # past powertools' automatic flush at 100 values
        metrics.add_metric(name="Probe", unit="Count", value=1)
    metrics.clear_metrics()
    assert '"Namespace":"Frontline"' in capsys.readouterr().out.replace(" ", "")
