"""In-process Slack emulator: a fake Web API server plus a driver that plays Slack towards the app.

``SlackEmulator`` serves the Web API on 127.0.0.1 (point ``slack_sdk.WebClient(base_url=emu.url)``
at it) and records every call. ``SlackDriver`` builds correctly signed requests (slash commands,
view submissions, block actions, events) the way Slack's servers would and posts them to the app.
"""

from handoff.emulator.driver import Response, SlackDriver, sign, view_state
from handoff.emulator.server import SlackEmulator
from handoff.emulator.wire import APP_ID, BOT_ID, Call

__all__ = [
    "APP_ID",
    "BOT_ID",
    "Call",
    "Response",
    "SlackDriver",
    "SlackEmulator",
    "sign",
    "view_state",
]
