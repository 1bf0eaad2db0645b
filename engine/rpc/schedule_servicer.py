"""ScheduleService: each method converts its request, calls engine.services.schedules, converts back. Roles, errors
and the call log are the interceptor's (engine.rpc.interceptors)."""

from __future__ import annotations

from typing import Any

from pm_exports_client.v1 import schedules_pb2, schedules_pb2_grpc

from engine.rpc.convert import schedules as convert
from engine.rpc.interceptors import current_caller
from engine.services import schedules
from engine.settings import Settings

DEFAULT_RUNS = 50
DEFAULT_PREVIEW = 10


class ScheduleServicer(schedules_pb2_grpc.ScheduleServiceServicer):
    """Schedules: managers change them, readers read them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def CreateSchedule(self, request: schedules_pb2.CreateScheduleRequest, context: Any) -> Any:
        values = convert.fields_from_proto(request.fields)
        return convert.schedule_to_proto(schedules.create_schedule(self.settings, request.name, values))

    def UpdateSchedule(self, request: schedules_pb2.UpdateScheduleRequest, context: Any) -> Any:
        values = convert.fields_from_proto(request.fields)
        return convert.schedule_to_proto(schedules.update_schedule(self.settings, request.name, values))

    def DeleteSchedule(self, request: schedules_pb2.DeleteScheduleRequest, context: Any) -> Any:
        schedules.delete_schedule(request.name)
        return schedules_pb2.DeleteScheduleResponse()

    def GetSchedule(self, request: schedules_pb2.GetScheduleRequest, context: Any) -> Any:
        return convert.schedule_to_proto(schedules.get_schedule(request.name))

    def ListSchedules(self, request: schedules_pb2.ListSchedulesRequest, context: Any) -> Any:
        enabled = request.enabled if request.HasField("enabled") else None
        found = schedules.list_schedules(enabled=enabled)
        return schedules_pb2.ListSchedulesResponse(schedules=[convert.schedule_to_proto(v) for v in found])

    def PauseSchedule(self, request: schedules_pb2.PauseScheduleRequest, context: Any) -> Any:
        return convert.schedule_to_proto(schedules.pause_schedule(request.name))

    def ResumeSchedule(self, request: schedules_pb2.ResumeScheduleRequest, context: Any) -> Any:
        return convert.schedule_to_proto(schedules.resume_schedule(request.name))

    def RunScheduleNow(self, request: schedules_pb2.RunScheduleNowRequest, context: Any) -> Any:
        run = schedules.run_now(self.settings, request.name, requested_by=f"api:{current_caller().name}")
        return convert.run_to_proto(run)

    def ListScheduleRuns(self, request: schedules_pb2.ListScheduleRunsRequest, context: Any) -> Any:
        runs = schedules.list_runs(request.name, limit=request.limit or DEFAULT_RUNS)
        return schedules_pb2.ListScheduleRunsResponse(runs=[convert.run_to_proto(r) for r in runs])

    def PreviewNextRuns(self, request: schedules_pb2.PreviewNextRunsRequest, context: Any) -> Any:
        times = schedules.preview_next_runs(request.name, request.count or DEFAULT_PREVIEW)
        return convert.fire_times_to_proto(schedules.get_schedule(request.name).timezone, times)
