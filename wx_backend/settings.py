"""The one place that reads the environment.

``Settings.from_env(os.environ)`` builds an immutable settings object at start-up; everything else
receives it (or the pieces it needs) as an argument. Development defaults are explicit and marked
as such; with ``WXF_ENV=production`` missing secrets stop start-up with a message naming them.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent

# Loud, obviously-not-secret values used only outside production.
DEV_SECRET_KEY = "dev-only-secret-key-do-not-use-in-production"
DEV_DATA_KEY = "dev-only-data-key-do-not-use-in-production"
DEV_MP_APPID, DEV_MP_SECRET = "wxdevminiprogram0001", "dev-miniprogram-secret"
DEV_OA_APPID, DEV_OA_SECRET = "wxdevofficialacct001", "dev-official-account-secret"
DEV_OA_TOKEN = "dev-callback-token"

# Secrets production refuses to start without: env var -> description.
PRODUCTION_SECRETS = {
    "SECRET_KEY": "signs session cookies",
    "DATA_KEY": "encrypts biometric data, session keys and API secrets at rest",
    "WECHAT_MP_APPID": "mini-program appid",
    "WECHAT_MP_SECRET": "mini-program secret",
    "WECHAT_OA_APPID": "official-account appid",
    "WECHAT_OA_SECRET": "official-account secret",
    "WECHAT_OA_TOKEN": "official-account server URL token",
}


# Keys production needs to be secret and long: a signing key under 32 bytes can be brute-forced offline
# from one cookie, and the development values are published in this file.
MIN_KEY_BYTES = 32
STRONG_KEYS = {"SECRET_KEY": DEV_SECRET_KEY, "DATA_KEY": DEV_DATA_KEY}


class ConfigError(Exception):
    """The environment does not describe a runnable service."""


def _weak_keys(env: Mapping[str, str]) -> list[str]:
    problems = []
    for name, dev_value in STRONG_KEYS.items():
        value = env.get(name, "")
        if not value:
            continue          # reported with the missing secrets
        if value == dev_value:
            problems.append(f"{name} is the published development value")
        elif len(value.encode("utf-8")) < MIN_KEY_BYTES:
            problems.append(f"{name} is shorter than {MIN_KEY_BYTES} bytes")
    return problems


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None


def _networks(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    import ipaddress

    out = []
    for part in filter(None, (p.strip() for p in env.get(name, "").split(","))):
        try:
            out.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            raise ConfigError(f"{name}: {part!r} is not an IP network like 127.0.0.1/32") from None
    return tuple(out)


def _dates(env: Mapping[str, str], name: str) -> tuple[dt.date, ...]:
    raw = env.get(name, "")
    out = []
    for part in filter(None, (p.strip() for p in raw.split(","))):
        try:
            out.append(dt.date.fromisoformat(part))
        except ValueError:
            raise ConfigError(f"{name}: {part!r} is not a YYYY-MM-DD date") from None
    return tuple(sorted(out))


FACE_EMBEDDERS = ("mobilefacenet", "dlib", "fused", "onnx")


def _embedder(env: Mapping[str, str]) -> str:
    """FACE_EMBEDDER; an operator's ONNX_EMBEDDER_PATH alone still selects their model, as before."""
    name = env.get("FACE_EMBEDDER", "").strip().lower()
    if not name:
        return "onnx" if env.get("ONNX_EMBEDDER_PATH") else Settings.face_embedder
    if name not in FACE_EMBEDDERS:
        raise ConfigError(f"FACE_EMBEDDER must be one of {', '.join(FACE_EMBEDDERS)}, got {name!r}")
    if (name == "onnx") != bool(env.get("ONNX_EMBEDDER_PATH")):
        raise ConfigError("FACE_EMBEDDER=onnx and ONNX_EMBEDDER_PATH go together (the path names the model; "
                          f"FACE_EMBEDDER={name} would ignore it)" if name != "onnx" else
                          "FACE_EMBEDDER=onnx needs ONNX_EMBEDDER_PATH (and its calibrated ONNX_EMBEDDER_SPEC)")
    return name


@dataclass(frozen=True)
class Settings:
    env: str = "development"                      # development | testing | production
    database_url: str = f"sqlite:///{ROOT / 'var' / 'wxfaceid.db'}"
    secret_key: str = DEV_SECRET_KEY
    data_key: str = DEV_DATA_KEY
    # WeChat: mini-program and official account credentials, and where WeChat's servers are.
    mp_appid: str = DEV_MP_APPID
    mp_secret: str = DEV_MP_SECRET
    oa_appid: str = DEV_OA_APPID
    oa_secret: str = DEV_OA_SECRET
    oa_token: str = DEV_OA_TOKEN
    wechat_api_base: str = "http://127.0.0.1:8001"       # production: https://api.weixin.qq.com
    wechat_oauth_base: str = "http://127.0.0.1:8001"     # production: https://open.weixin.qq.com
    wechat_timeout_s: float = 5.0
    emulator_port: int = 8001
    public_base_url: str = "http://127.0.0.1:8000"
    # Upload limits, in bytes.
    max_image_bytes: int = 3 * 1024 * 1024
    max_video_bytes: int = 8 * 1024 * 1024
    max_licence_bytes: int = 5 * 1024 * 1024
    max_request_bytes: int = 16 * 1024 * 1024
    # Scale-out: Redis for rate limits, challenges and the job queue when set.
    redis_url: str = ""
    # Without Redis on SQLite: the rate-limit and replay-claim windows live in a SQLite file of their own,
    # so that each call's QPS hit does not take the main database's write lock. "" = beside the database
    # (var/wxfaceid.db -> var/wxfaceid-ratelimit.db). Every worker of one host must use the same file.
    rate_limit_sqlite_path: str = ""
    huey_sqlite_path: str = str(ROOT / "var" / "huey.db")
    huey_immediate: bool = False
    # The queue's name (Redis keys huey.*.<name>): two deployments sharing one Redis database keep apart.
    huey_name: str = "wxfaceid"
    # A running video job's lease: its worker renews it every third of this while the job runs, so a job
    # whose lease ran out lost its worker (killed, host gone) and is run again by the next sweep.
    job_lease_s: int = 30
    # glibc malloc arenas per process (wx_backend/memory.py): glibc reads MALLOC_ARENA_MAX itself at start;
    # the workers set the same number (2 when unset) before their threads start.
    malloc_arena_max: int = 2
    # Proxies in front of the service that set X-Forwarded-For/-Proto (nginx: 1). 0: the headers are
    # ignored, as any client can send them.
    trusted_proxies: int = 0
    industry_whitelist_path: str = str(ROOT / "industry_whitelist.yaml")
    holidays: tuple[dt.date, ...] = ()
    makeup_workdays: tuple[dt.date, ...] = ()     # 调休: weekend days that are working days
    # The face embedder: "mobilefacenet" (shipped), "dlib", "fused" (both) or "onnx" (the operator's
    # model below). Each has its own calibration; see wx_backend/engine_factory.py.
    face_embedder: str = "mobilefacenet"
    # Optional operator-supplied models (paths); the product works without them.
    onnx_embedder_path: str = ""
    # JSON input spec and calibrated curve of that embedder; see wx_backend/engine_factory.py.
    onnx_embedder_spec: str = ""
    onnx_pad_model_path: str = ""
    mp_session_ttl_s: int = 7200
    h5_session_ttl_s: int = 7200
    result_retention_days: int = 3
    default_qps_limit: int = 20
    # Merchants' result callbacks: networks allowed although not public (development and tests: the
    # receiver on 127.0.0.1; see wx_backend/callbacks/safe_http.py), and the HTTP timeout.
    callback_allow_networks: tuple[str, ...] = ()
    callback_timeout_s: float = 5.0
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "Settings":
        mode = env.get("WXF_ENV", "development")
        if mode not in ("development", "testing", "production"):
            raise ConfigError(f"WXF_ENV must be development, testing or production, got {mode!r}")
        if mode == "production":
            missing = [f"{k} ({why})" for k, why in PRODUCTION_SECRETS.items() if not env.get(k)]
            if missing:
                raise ConfigError("production start refused; set these environment variables: "
                                  + "; ".join(missing))
            weak = _weak_keys(env)
            if weak:
                raise ConfigError("production start refused: " + "; ".join(weak)
                                  + " (generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')")
        d = cls()
        settings = cls(
            env=mode,
            database_url=env.get("DATABASE_URL", d.database_url),
            secret_key=env.get("SECRET_KEY", d.secret_key),
            data_key=env.get("DATA_KEY", d.data_key),
            mp_appid=env.get("WECHAT_MP_APPID", d.mp_appid),
            mp_secret=env.get("WECHAT_MP_SECRET", d.mp_secret),
            oa_appid=env.get("WECHAT_OA_APPID", d.oa_appid),
            oa_secret=env.get("WECHAT_OA_SECRET", d.oa_secret),
            oa_token=env.get("WECHAT_OA_TOKEN", d.oa_token),
            wechat_api_base=env.get("WECHAT_API_BASE",
                                    "https://api.weixin.qq.com" if mode == "production"
                                    else d.wechat_api_base).rstrip("/"),
            wechat_oauth_base=env.get("WECHAT_OAUTH_BASE",
                                      "https://open.weixin.qq.com" if mode == "production"
                                      else d.wechat_oauth_base).rstrip("/"),
            wechat_timeout_s=_float(env, "WECHAT_TIMEOUT_S", d.wechat_timeout_s),
            emulator_port=_int(env, "EMULATOR_PORT", d.emulator_port),
            public_base_url=env.get("PUBLIC_BASE_URL", d.public_base_url).rstrip("/"),
            max_image_bytes=_int(env, "MAX_IMAGE_BYTES", d.max_image_bytes),
            max_video_bytes=_int(env, "MAX_VIDEO_BYTES", d.max_video_bytes),
            max_licence_bytes=_int(env, "MAX_LICENCE_BYTES", d.max_licence_bytes),
            max_request_bytes=_int(env, "MAX_REQUEST_BYTES", d.max_request_bytes),
            redis_url=env.get("REDIS_URL", ""),
            rate_limit_sqlite_path=env.get("RATE_LIMIT_SQLITE_PATH", ""),
            huey_sqlite_path=env.get("HUEY_SQLITE_PATH", d.huey_sqlite_path),
            huey_immediate=env.get("HUEY_IMMEDIATE", "") in ("1", "true", "yes"),
            huey_name=env.get("HUEY_NAME", d.huey_name),
            job_lease_s=_int(env, "JOB_LEASE_S", d.job_lease_s),
            malloc_arena_max=_int(env, "MALLOC_ARENA_MAX", d.malloc_arena_max),
            trusted_proxies=_int(env, "TRUSTED_PROXIES", d.trusted_proxies),
            industry_whitelist_path=env.get("INDUSTRY_WHITELIST", d.industry_whitelist_path),
            holidays=_dates(env, "HOLIDAYS"),
            makeup_workdays=_dates(env, "MAKEUP_WORKDAYS"),
            face_embedder=_embedder(env),
            onnx_embedder_path=env.get("ONNX_EMBEDDER_PATH", ""),
            onnx_embedder_spec=env.get("ONNX_EMBEDDER_SPEC", ""),
            onnx_pad_model_path=env.get("ONNX_PAD_MODEL_PATH", ""),
            mp_session_ttl_s=_int(env, "MP_SESSION_TTL_S", d.mp_session_ttl_s),
            h5_session_ttl_s=_int(env, "H5_SESSION_TTL_S", d.h5_session_ttl_s),
            result_retention_days=_int(env, "RESULT_RETENTION_DAYS", d.result_retention_days),
            default_qps_limit=_int(env, "DEFAULT_QPS_LIMIT", d.default_qps_limit),
            callback_allow_networks=_networks(env, "CALLBACK_ALLOW_NETWORKS"),
            callback_timeout_s=_float(env, "CALLBACK_TIMEOUT_S", d.callback_timeout_s),
        )
        if settings.is_production and settings.callback_allow_networks:
            log.warning("CALLBACK_ALLOW_NETWORKS is set in production: merchants' callbacks may reach "
                        "%s", ", ".join(settings.callback_allow_networks))
        if not settings.is_production and settings.secret_key == DEV_SECRET_KEY:
            log.warning("development settings: built-in secrets in use; never deploy like this "
                        "(set WXF_ENV=production and the real secrets)")
        return settings

    def replace(self, **changes) -> "Settings":
        return dataclasses.replace(self, **changes)

    @property
    def sqlite_path(self) -> Path | None:
        """The database file when DATABASE_URL names SQLite, else None."""
        if self.database_url.startswith("sqlite:///"):
            return Path(self.database_url[len("sqlite:///"):])
        return None


    @property
    def rate_limit_sqlite_file(self) -> Path | None:
        """The rate-limit windows' own SQLite file, or None: Redis holds them (REDIS_URL), or the database
        does (PostgreSQL, or an in-memory SQLite database, which no second file could share)."""
        if self.redis_url:
            return None
        if self.rate_limit_sqlite_path:
            return Path(self.rate_limit_sqlite_path)
        db_file = self.sqlite_path
        if db_file is None or str(db_file) == ":memory:":
            return None
        return db_file.with_name(f"{db_file.stem}-ratelimit{db_file.suffix or '.db'}")


def load_settings() -> Settings:
    """Settings from this process's environment (the only ``os.environ`` read in the project)."""
    return Settings.from_env(os.environ)
