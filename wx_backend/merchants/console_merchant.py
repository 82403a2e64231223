"""The merchant console (/merchant): login, application form, dashboard, messages, the one-time key.

A merchant sees only its own merchant: every query is filtered by the merchant of the signed-in user,
and objects of other merchants answer 404.
"""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for

from .. import db
from ..services import services
from ..billing.usage import usage_summary
from ..errors import Refused
from . import application, console_auth, provisioning, rules
from .csrf import protect
from .deps import OnboardingDeps
from .models import PRODUCTS, ApiCredential, InSiteMessage, MerchantUser, Rule

bp = Blueprint("merchant_console", __name__, url_prefix="/merchant", template_folder="templates",
               static_folder="static")
protect(bp)
console_auth.protect_console(bp)
CONSOLE = "merchant"
STATUS_NAMES = {"pending": "审核中", "approved": "已通过", "rejected": "未通过"}
PRODUCT_NAMES = dict(zip(PRODUCTS, ("活体人脸核身", "活体检测", "照片人脸核身")))
USAGE_DAYS = 30        # the chart's window, Beijing days up to today


def _deps() -> OnboardingDeps:
    return OnboardingDeps.from_services(services())


def _current_user() -> MerchantUser | None:
    uid = console_auth.current_user_id(CONSOLE)
    return MerchantUser.get_or_none(MerchantUser.id == uid) if uid else None


def merchant_required(view):
    """The view gets the signed-in MerchantUser first; anyone else goes to the login page."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        user = _current_user()
        if user is None:
            return redirect(url_for("merchant_console.login"))
        return view(user, *args, **kwargs)
    return wrapped


def own_latest(model, user: MerchantUser, limit: int) -> list:
    """The signed-in merchant's latest rows of ``model`` (which has a ``merchant`` field), newest first."""
    return list(model.select().where(model.merchant == user.merchant_id).order_by(model.id.desc()).limit(limit))


def _sign_in(user: MerchantUser) -> None:
    console_auth.sign_in(CONSOLE, user.id)


@bp.route("/login", methods=["GET", "POST"])
def login():
    status = 200
    if request.method == "POST":
        result = console_auth.try_sign_in(
            CONSOLE, lambda name: MerchantUser.get_or_none(MerchantUser.username == name))
        if result.user is not None:
            return redirect(url_for(".dashboard"))
        flash(result.message)
        status = 429 if result.retry_after_s else 200
    return render_template("merchants/login.html", heading="商户控制台登录",
                           apply_url=url_for(".apply")), status


@bp.post("/logout")
def logout():
    console_auth.sign_out()
    return redirect(url_for(".login"))


@bp.route("/apply", methods=["GET", "POST"])
def apply():
    deps = _deps()
    errors: dict[str, str] = {}
    values = request.form if request.method == "POST" else {}
    if request.method == "POST":
        try:
            application.admit_public(deps, console_auth.client_address(), values.get("phone", ""))
        except Refused as exc:
            flash(exc.message)
            return render_template("merchants/apply.html", errors={}, form=values, whitelist=deps.whitelist,
                                   channel_names=application.CHANNEL_NAMES), exc.result.http_status
        upload = request.files.get("licence")
        form = application.ApplicationForm(
            name=values.get("name", ""), uscc=values.get("uscc", ""),
            industry_key=values.get("industry", ""), phone=values.get("phone", ""),
            channels=tuple(request.form.getlist("channels")),
            licence=upload.read(deps.settings.max_licence_bytes + 1) if upload else b"",
            description=values.get("description", ""), username=values.get("username", ""),
            password=values.get("password", ""))
        if not form.username:
            errors = {"username": "请设置控制台登录名和密码"}
        else:
            try:
                merchant = application.submit(deps, form, public=True)
            except application.ApplicationInvalid as exc:
                errors = exc.errors
            else:
                _sign_in(MerchantUser.get(MerchantUser.merchant == merchant))
                return redirect(url_for(".dashboard"))
    return render_template("merchants/apply.html", errors=errors, form=values,
                           whitelist=deps.whitelist, channel_names=application.CHANNEL_NAMES), \
        (400 if errors else 200)


def _dashboard(user: MerchantUser, revealed: tuple[str, str] | None = None):
    m = user.merchant
    return render_template(
        "merchants/dashboard.html", m=m, status_names=STATUS_NAMES, product_names=PRODUCT_NAMES,
        credentials=list(ApiCredential.select().where((ApiCredential.merchant == m)
                                                      & ApiCredential.active)),
        rules=list(Rule.select().where(Rule.merchant == m).order_by(Rule.id)),
        channel_names=rules.CHANNEL_NAMES, mode_names=rules.MODE_NAMES, compare_names=rules.COMPARE_NAMES,
        usage=usage_summary(m.id), usage_days=USAGE_DAYS, revealed=revealed, max_keys=provisioning.MAX_ACTIVE_KEYS,
        messages=list(InSiteMessage.select().where(InSiteMessage.merchant == m)
                      .order_by(InSiteMessage.id.desc())))


@bp.get("/")
@merchant_required
def dashboard(user: MerchantUser):
    return _dashboard(user)


def _own_credential(user: MerchantUser, cred_id: int) -> ApiCredential:
    """The signed-in merchant's credential ``cred_id``; 404 for anyone else's."""
    cred = ApiCredential.get_or_none((ApiCredential.id == cred_id)
                                     & (ApiCredential.merchant == user.merchant_id))
    if cred is None:
        abort(404)
    return cred


@bp.post("/credentials/<int:cred_id>/reveal")
@merchant_required
def reveal(user: MerchantUser, cred_id: int):
    cred = _own_credential(user, cred_id)
    with db.write_atomic():
        key = provisioning.reveal_secret_key(cred, services().sealer, _deps().now_naive())
    if key is None:
        flash("SecretKey 已查看过，不能再次显示")
        return redirect(url_for(".dashboard"))
    resp = make_response(_dashboard(user, revealed=(cred.secret_id, key)))
    resp.headers["Cache-Control"] = "no-store"     # the key must not linger in caches or history
    return resp


@bp.post("/credentials/new")
@merchant_required
def new_credential(user: MerchantUser):
    """Key rotation, step 1: a further key, its SecretKey shown on this page once."""
    try:
        with db.write_atomic():
            pair = provisioning.add_credential(user.merchant, services().sealer, _deps().now_naive())
    except provisioning.KeyRotationRefused as exc:
        flash(str(exc))
        return redirect(url_for(".dashboard"))
    resp = make_response(_dashboard(user, revealed=(pair.secret_id, pair.secret_key)))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/credentials/<int:cred_id>/disable")
@merchant_required
def disable_credential(user: MerchantUser, cred_id: int):
    """Key rotation, step 2: the old key stops working (never the last one)."""
    cred = _own_credential(user, cred_id)
    try:
        with db.write_atomic():
            provisioning.disable_credential(user.merchant_id, cred.secret_id, _deps().now_naive())
    except provisioning.KeyRotationRefused as exc:
        flash(str(exc))
    else:
        flash(f"密钥 {cred.secret_id[:8]}… 已停用")
    return redirect(url_for(".dashboard"))


@bp.post("/messages/<int:msg_id>/read")
@merchant_required
def mark_read(user: MerchantUser, msg_id: int):
    updated = (InSiteMessage.update(read_at=_deps().now_naive())
               .where((InSiteMessage.id == msg_id) & (InSiteMessage.merchant == user.merchant_id)
                      & InSiteMessage.read_at.is_null()).execute())
    if not updated and not InSiteMessage.select().where(
            (InSiteMessage.id == msg_id) & (InSiteMessage.merchant == user.merchant_id)).exists():
        abort(404)
    return redirect(url_for(".dashboard"))
