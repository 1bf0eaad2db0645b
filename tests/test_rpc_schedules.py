"""ScheduleService through a real server and the generated stubs: managers change schedules, readers read them,
bad fields are INVALID_ARGUMENT naming the field, and a run now is a job GetJob/ListJobs(schedule=...) link back."""

from __future__ import annotations

import grpc
import pytest
from pm_exports_client.v1 import exports_pb2, exports_pb2_grpc, schedules_pb2, schedules_pb2_grpc

from tests.rpc_support import Engine, rpc_error

pytest_plugins = ["tests.rpc_fixtures"]  # fixtures: engine


def metadata(engine: Engine, role: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {engine.keys[role]}"),)


def test_schedules_over_grpc(engine: Engine) -> None:
    stub = schedules_pb2_grpc.ScheduleServiceStub(engine.channel())
    exports = exports_pb2_grpc.ExportServiceStub(engine.channel())
    manager, reader = metadata(engine, "manager"), metadata(engine, "reader")
    fields = schedules_pb2.ScheduleFields(template="Standard CSV", frequency="daily 06:00", timezone="Europe/Paris")
    fields.overrides.update({"selection": {"statuses": ["active"]}})
    create = schedules_pb2.CreateScheduleRequest(name="feed", fields=fields)
    assert rpc_error(lambda: stub.CreateSchedule(create, metadata=reader)).code() == grpc.StatusCode.PERMISSION_DENIED
    created = stub.CreateSchedule(create, metadata=manager)
    assert (created.fields.overlap, created.fields.catch_up, created.fields.notify) == ("skip", "once", "failure")
    assert created.fields.overrides["selection"]["statuses"] == ["active"]
    assert created.HasField("next_run_at")

    bad = schedules_pb2.CreateScheduleRequest(
        name="bad", fields=schedules_pb2.ScheduleFields(template="Standard CSV", frequency="cron 61 * * * *")
    )
    error = rpc_error(lambda: stub.CreateSchedule(bad, metadata=manager))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details() == "frequency: invalid cron expression '61 * * * *': minute must be 0-59"

    preview = stub.PreviewNextRuns(schedules_pb2.PreviewNextRunsRequest(name="feed", count=3), metadata=reader)
    assert preview.timezone == "Europe/Paris" and len(preview.times) == 3
    assert all(t.local.endswith(("+01:00", "+02:00")) and "T06:00:00" in t.local for t in preview.times)

    run = stub.RunScheduleNow(schedules_pb2.RunScheduleNowRequest(name="feed"), metadata=manager)
    assert run.trigger == "manual" and run.HasField("job_id")
    job = exports.GetJob(exports_pb2.GetJobRequest(job_id=run.job_id), metadata=reader)
    assert job.schedule == "feed" and job.HasField("due_at")
    listed = exports.ListJobs(exports_pb2.ListJobsRequest(schedule="feed"), metadata=reader)
    assert [j.id for j in listed.jobs] == [run.job_id]
    missing = rpc_error(lambda: exports.ListJobs(exports_pb2.ListJobsRequest(schedule="nope"), metadata=reader))
    assert missing.code() == grpc.StatusCode.NOT_FOUND

    runs = stub.ListScheduleRuns(schedules_pb2.ListScheduleRunsRequest(name="feed"), metadata=reader)
    assert [r.job_id for r in runs.runs] == [run.job_id]
    paused = stub.PauseSchedule(schedules_pb2.PauseScheduleRequest(name="feed"), metadata=manager)
    assert not paused.fields.enabled and not paused.HasField("next_run_at")
    update = schedules_pb2.UpdateScheduleRequest(
        name="feed", fields=schedules_pb2.ScheduleFields(frequency="every 2 hours", enabled=True)
    )
    updated = stub.UpdateSchedule(update, metadata=manager)
    assert updated.fields.frequency == "every 2 hours" and updated.fields.enabled
    assert updated.fields.template == "Standard CSV"  # unset fields are kept
    listed_schedules = stub.ListSchedules(schedules_pb2.ListSchedulesRequest(), metadata=reader)
    assert [s.name for s in listed_schedules.schedules] == ["feed"]
    stub.DeleteSchedule(schedules_pb2.DeleteScheduleRequest(name="feed"), metadata=manager)
    gone = rpc_error(lambda: stub.GetSchedule(schedules_pb2.GetScheduleRequest(name="feed"), metadata=reader))
    assert gone.code() == grpc.StatusCode.NOT_FOUND


def test_schedules_through_the_typed_client(engine: Engine) -> None:
    manager, reader = engine.client("manager"), engine.client("reader")
    created = manager.create_schedule(
        "nightly",
        "Standard CSV",
        "weekly mon 06:00",
        timezone="Europe/Paris",
        retry_count=2,
        overrides={"selection": {"statuses": ["active"]}},
    )
    assert (created.name, created.template, created.frequency, created.timezone) == (
        "nightly",
        "Standard CSV",
        "weekly mon 06:00",
        "Europe/Paris",
    )
    assert created.enabled and created.retry_count == 2 and created.overrides == {"selection": {"statuses": ["active"]}}
    assert created.next_run_at is not None and created.next_run_at.tzinfo is not None

    times = reader.next_runs("nightly", 5)
    assert len(times) == 5
    assert all(t.local.weekday() == 0 and (t.local.hour, t.local.minute) == (6, 0) for t in times)
    assert all(t.local == t.utc for t in times)  # the same instant, seen in two zones
    assert times == sorted(times, key=lambda t: t.utc)

    with pytest.raises(grpc.RpcError) as denied:
        reader.pause_schedule("nightly")
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as bad:
        manager.create_schedule("bad", "Standard CSV", "cron 61 * * * *")
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "minute must be 0-59" in bad.value.details()
    with pytest.raises(TypeError, match="unknown schedule field"):
        manager.update_schedule("nightly", colour="blue")

    paused = manager.pause_schedule("nightly")
    assert not paused.enabled and paused.next_run_at is None and paused.paused_reason
    assert [s.name for s in reader.list_schedules(enabled=False)] == ["nightly"]
    assert reader.list_schedules(enabled=True) == []
    resumed = manager.resume_schedule("nightly")
    assert resumed.enabled and resumed.next_run_at is not None

    run = manager.run_schedule_now("nightly")
    assert run.trigger == "manual" and run.job_id is not None and run.schedule == "nightly"
    assert [r.job_id for r in reader.schedule_runs("nightly")] == [run.job_id]

    updated = manager.update_schedule("nightly", frequency="every 2 hours")
    assert updated.frequency == "every 2 hours" and updated.retry_count == 2  # the rest is kept
    assert reader.get_schedule("nightly") == updated
    manager.delete_schedule("nightly")
    with pytest.raises(grpc.RpcError) as gone:
        reader.get_schedule("nightly")
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND
