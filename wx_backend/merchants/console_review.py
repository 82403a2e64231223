"""The reviewer console (/review): queue, application detail with the licence, decisions, WeChat-side
state, QPS limit, whitelist. Every page requires a signed-in Reviewer."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for

from ..errors import ServiceError
from ..services import services
from . import console_auth, review
from .csrf import protect
from .deps import OnboardingDeps
from .models import PENDING, Reviewer
from .workdays import is_overdue

bp = Blueprint("review_console", __name__, url_prefix="/review", template_folder="templates")
protect(bp)
console_auth.protect_console(bp)
CONSOLE = "reviewer"


def _deps() -> OnboardingDeps:
    return OnboardingDeps.from_services(services())


def _reviewer() -> Reviewer | None:
    rid = console_auth.current_user_id(CONSOLE)
    return Reviewer.get_or_none(Reviewer.id == rid) if rid else None


def reviewer_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        reviewer = _reviewer()
        if reviewer is None:
            return redirect(url_for(".login"))
        return view(reviewer, *args, **kwargs)
    return wrapped


@bp.route("/login", methods=["GET", "POST"])
def login():
    status = 200
    if request.method == "POST":
        result = console_auth.try_sign_in(CONSOLE, lambda name: Reviewer.get_or_none(Reviewer.username == name))
        if result.user is not None:
            return redirect(url_for(".queue_view"))
        flash(result.message)
        status = 429 if result.retry_after_s else 200
    return render_template("merchants/login.html", heading="审核控制台登录", apply_url=None), status


@bp.post("/logout")
def logout():
    console_auth.sign_out()
    return redirect(url_for(".login"))


@bp.get("/")
@reviewer_required
def queue_view(reviewer):
    deps = _deps()
    items = review.queue(deps.now(), include_decided=bool(request.args.get("all")))
    return render_template("merchants/queue.html", items=items, whitelist=deps.whitelist)


def _merchant(merchant_id: int):
    try:
        return review.get_merchant(merchant_id)
    except ServiceError:
        abort(404)


@bp.get("/merchants/<int:merchant_id>")
@reviewer_required
def detail(reviewer, merchant_id: int):
    deps = _deps()
    m = _merchant(merchant_id)
    return render_template("merchants/detail.html", m=m, whitelist=deps.whitelist,
                           sub=deps.whitelist.get(m.industry_key),
                           overdue=m.status == PENDING and is_overdue(m.review_deadline, deps.now()))


@bp.get("/merchants/<int:merchant_id>/licence")
@reviewer_required
def licence(reviewer, merchant_id: int):
    m = _merchant(merchant_id)
    if not m.licence_image:
        abort(404)
    data = services().sealer.open(m.licence_image)
    return Response(data, mimetype=m.licence_mime,
                    headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


def _act(merchant_id: int, fn, done: str):
    try:
        fn()
        flash(done)
    except ServiceError as exc:
        flash(exc.message)
    return redirect(url_for(".detail", merchant_id=merchant_id))


@bp.post("/merchants/<int:merchant_id>/decision")
@reviewer_required
def decide(reviewer, merchant_id: int):
    deps, reason = _deps(), request.form.get("reason", "")
    if request.form.get("decision") == "approve":
        # reveal_key=False: the merchant, not the reviewer, sees the SecretKey (once) in its console.
        return _act(merchant_id, lambda: review.approve(deps, merchant_id, reviewer=reviewer.username,
                                                        reason=reason, reveal_key=False), "已通过")
    return _act(merchant_id, lambda: review.reject(deps, merchant_id, reviewer=reviewer.username,
                                                   reason=reason), "已驳回")


@bp.post("/merchants/<int:merchant_id>/wechat")
@reviewer_required
def wechat(reviewer, merchant_id: int):
    approved = request.form.get("decision") == "approve"
    return _act(merchant_id, lambda: review.set_wechat_review(
        _deps(), merchant_id, approved=approved, reason=request.form.get("reason", "")), "已记录")


@bp.post("/merchants/<int:merchant_id>/qps")
@reviewer_required
def qps(reviewer, merchant_id: int):
    raw = request.form.get("qps", "")
    if not raw.strip().isdigit():
        flash("QPS 上限应为正整数")
        return redirect(url_for(".detail", merchant_id=merchant_id))
    return _act(merchant_id, lambda: review.set_qps(_deps(), merchant_id, int(raw)), "QPS 上限已更新")


@bp.get("/whitelist")
@reviewer_required
def whitelist_view(reviewer):
    return render_template("merchants/whitelist.html", whitelist=_deps().whitelist)
