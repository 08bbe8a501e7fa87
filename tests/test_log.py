import json
import logging

from appliance.log import JsonFormatter, log_context


def test_records_are_json_lines_with_context_ids():
    record = logging.LogRecord(
        "appliance.x", logging.INFO, __file__, 1, "job claimed", None, None
    )
    record.attempt = 2

    with log_context(job_id=7, incident_id="123"):
        line = JsonFormatter().format(record)

    entry = json.loads(line)
    assert entry["msg"] == "job claimed"
    assert entry["job_id"] == 7
    assert entry["incident_id"] == "123"
    assert entry["attempt"] == 2
    assert "\n" not in line


def test_context_does_not_leak_past_its_block():
    with log_context(request_id="abc"):
        pass
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)

    assert "request_id" not in json.loads(JsonFormatter().format(record))
