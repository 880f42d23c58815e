"""Configuration from the environment, validated once at start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

LANGS = ("en", "de")


class ConfigError(Exception):
    """A missing or malformed setting; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from its environment."""

    bot_token: str = ""
    signing_secret: str = ""
    app_token: str = ""
    api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite:///handoff.db"
    port: int = 3000
    tick_seconds: float = 60.0
    digest_cron: str = "0 9 * * MON"
    lang: str = "en"
    holiday_country: str = ""
    lease_seconds: float = 300.0
    wave_size: int = 3

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read and check the variables in CONTRACT.md; raise ConfigError naming a bad one."""
        env = os.environ if env is None else env
        defaults = cls()

        def get(name: str, default: str) -> str:
            return env.get(name, "").strip() or default

        port = _number(get("PORT", str(defaults.port)), "PORT", int, 1, 65535)
        tick = _number(
            get("HANDOFF_TICK_SECONDS", str(defaults.tick_seconds)),
            "HANDOFF_TICK_SECONDS",
            float,
            0.01,
            86400,
        )
        lease = _number(
            get("HANDOFF_LEASE_SECONDS", str(defaults.lease_seconds)),
            "HANDOFF_LEASE_SECONDS",
            float,
            1,
            86400,
        )
        wave = _number(
            get("HANDOFF_WAVE_SIZE", str(defaults.wave_size)), "HANDOFF_WAVE_SIZE", int, 1, 100
        )
        lang = get("HANDOFF_LANG", defaults.lang).lower()
        if lang not in LANGS:
            raise ConfigError(f"HANDOFF_LANG must be one of {', '.join(LANGS)}, not {lang!r}")
        cron = get("HANDOFF_DIGEST_CRON", defaults.digest_cron)
        _check_cron(cron)
        country = get("HANDOFF_HOLIDAY_COUNTRY", "").upper()
        if country:
            _check_country(country)
        api_url = get("SLACK_API_URL", defaults.api_url)
        if not api_url.startswith(("http://", "https://")):
            raise ConfigError(f"SLACK_API_URL must be an http(s) URL, not {api_url!r}")
        if not api_url.endswith("/"):
            api_url += "/"
        db = get("DATABASE_URL", defaults.database_url)
        if "://" not in db:
            raise ConfigError(f"DATABASE_URL must be an SQLAlchemy URL, not {db!r}")
        return cls(
            bot_token=get("SLACK_BOT_TOKEN", ""),
            signing_secret=get("SLACK_SIGNING_SECRET", ""),
            app_token=get("SLACK_APP_TOKEN", ""),
            api_url=api_url,
            database_url=db,
            port=port,
            tick_seconds=tick,
            digest_cron=cron,
            lang=lang,
            holiday_country=country,
            lease_seconds=lease,
            wave_size=wave,
        )

    def require(self, *names: str) -> None:
        """Raise ConfigError naming every required variable that is empty."""
        env_names = {
            "bot_token": "SLACK_BOT_TOKEN",
            "signing_secret": "SLACK_SIGNING_SECRET",
            "app_token": "SLACK_APP_TOKEN",
        }
        missing = [env_names[n] for n in names if not getattr(self, n)]
        if missing:
            raise ConfigError(f"missing required environment variable(s): {', '.join(missing)}")
        if "app_token" in names and not self.app_token.startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN must be an app-level token starting with xapp-")


def _number(raw: str, name: str, kind: type, low: float, high: float) -> int | float:
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}, not {raw}")
    return value


def _check_cron(expr: str) -> None:
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(expr, timezone="UTC")
    except ValueError as exc:
        raise ConfigError(f"HANDOFF_DIGEST_CRON is not a crontab expression: {exc}") from None


def _check_country(country: str) -> None:
    import holidays

    if country not in holidays.list_supported_countries():
        raise ConfigError(f"HANDOFF_HOLIDAY_COUNTRY {country!r} is not a supported country code")
