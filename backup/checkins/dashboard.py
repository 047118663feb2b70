"""The dashboard's "Computers that check in": what each computer itself
said, beside the scan's "Your backups" (what the server found)."""

import datetime
from dataclasses import dataclass

from django.utils import timezone

from backup.core.times import absolute_time, relative_time

from . import services
from .forms import CheckInForm
from .models import CheckIn


def _when(moment: datetime.datetime | None, now: datetime.datetime) -> dict | None:
    if moment is None:
        return None
    return {"ago": relative_time(moment, now), "exact": absolute_time(moment)}


@dataclass(frozen=True)
class Computer:
    checkin: CheckIn
    status: str
    now: datetime.datetime

    @property
    def label(self):
        return services.badge(self.status)[0]

    @property
    def badge(self):
        return services.badge(self.status)[1]

    @property
    def alerts(self):
        return self.status in services.ALERTING

    @property
    def last_success(self):
        return _when(self.checkin.last_success_at, self.now)

    @property
    def last_failure(self):
        return _when(self.checkin.last_failure_at, self.now)

    @property
    def running_since(self):
        return _when(self.checkin.started_at, self.now)

    @property
    def last_log(self):
        return _when(self.checkin.last_log_at, self.now)


@dataclass(frozen=True)
class Computers:
    computers: list
    form: CheckInForm
    limit: int

    @property
    def alerting(self):
        return [computer for computer in self.computers if computer.alerts]


def computers_of(user, now: datetime.datetime | None = None) -> list[Computer]:
    now = now or timezone.now()
    return [
        Computer(checkin, services.status_of(checkin, now), now)
        for checkin in CheckIn.objects.filter(owner=user)
    ]


def for_owner(user, now: datetime.datetime | None = None) -> Computers:
    return Computers(computers_of(user, now), CheckInForm(), services.MAX_PER_PERSON)
