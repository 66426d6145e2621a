"""The viewer's filter form: a GET form whose values live in the URL."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, SearchField, SelectField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from portal import dates
from portal.audit import actions
from portal.audit.describe import WORDS
from portal.audit.queries import AuditFilter, FilterError, ip_condition
from portal.models.audit import Outcome

RESOURCE_TYPES = ["user", "license", "class", "specialization", "request", "job", "session", "achievement",
                  "passkey"]
_ACTION = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")
_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form; nothing changes

    actor = SearchField(_l("Actor"), validators=[Optional(), Length(max=254)])
    action = SelectMultipleField(_l("Action"), validate_choice=False)
    resource_type = SelectField(
        _l("Resource type"),
        choices=[SelectChoice("", _l("Any"))] + [SelectChoice(t, WORDS[t]) for t in RESOURCE_TYPES],
        validators=[Optional()],
    )
    resource_id = SearchField(_l("Resource id"), validators=[Optional(), Length(max=64)])
    start = DateTimeLocalField(_l("From"), format=_FORMATS, invalid_value_message=dates.NOT_A_TIME,
                               validators=[Optional(), dates.InRange()])
    end = DateTimeLocalField(_l("To"), format=_FORMATS, invalid_value_message=dates.NOT_A_TIME,
                             validators=[Optional(), dates.InRange()])
    ip = SearchField(_l("IP address or block"), validators=[Optional(), Length(max=49)])
    outcome = SelectField(
        _l("Outcome"),
        choices=[SelectChoice("", _l("Any"))] + [SelectChoice(o, WORDS[o]) for o in Outcome.ALL],
        validators=[Optional()],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.action.choices = [SelectChoice(a, optgroup=group)
                               for group, names in actions.grouped().items() for a in names]

    def validate_action(self, field):
        bad = [a for a in field.data or [] if not _ACTION.match(a)]
        if bad:
            raise ValidationError(_("Unknown action: {action}").format(action=bad[0][:64]))

    def validate_end(self, field):
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError(_("The end must be after the start."))

    def validate_ip(self, field):
        if field.data:
            try:
                ip_condition(field.data)
            except FilterError as exc:
                raise ValidationError(str(exc)) from None

    def to_filter(self, zone) -> AuditFilter:
        """The validated values as a filter; times typed in ``zone`` become UTC."""

        def utc(value: datetime | None) -> datetime | None:
            return value.replace(tzinfo=zone).astimezone(UTC) if value else None

        end = utc(self.end.data)
        if end is not None:
            # "To 17:00" includes events during that minute; a bare date the whole day.
            raw = (self.end.raw_data or [""])[0].strip()
            if len(raw) == 10:
                end += timedelta(days=1)
            else:
                end += timedelta(minutes=1) if len(raw) == 16 else timedelta(seconds=1)
        return AuditFilter(
            actor=(self.actor.data or "").strip(),
            actions=list(dict.fromkeys(self.action.data or [])),
            resource_type=self.resource_type.data or "",
            resource_id=(self.resource_id.data or "").strip(),
            start=utc(self.start.data),
            end=end,
            ip=(self.ip.data or "").strip(),
            outcome=self.outcome.data or "",
        )
