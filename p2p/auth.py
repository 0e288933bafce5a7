"""Accounts: the first facilitator's setup link, login and logout, changing and resetting a password."""

from __future__ import annotations

import hmac
import secrets
from base64 import b64decode, b64encode
from typing import Callable

from flask import Blueprint, abort, after_this_request, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import generate_csrf
from itsdangerous import BadSignature, URLSafeSerializer
from peewee import IntegrityError

from . import activity, crypto, passwords
from .db import checkpoint, db
from .models import (
    FACILITATOR,
    NAME_MAX,
    PARTICIPANT,
    PASSWORD_MAX,
    PASSWORD_MIN,
    Group,
    Login,
    Membership,
    OneTimeToken,
    PasswordReset,
    SentRequest,
    Share,
    Throttle,
    User,
    forget_account,
    name_key,
    normalise_join_code,
    normalise_name,
    utcnow,
)
from .web import current_login, idle_time, log, safe_next, whole_number

bp = Blueprint("auth", __name__)

WRONG_LOGIN = "That name and password don't match. Please check them and try again."


def please_wait(seconds: int, what: str = "for this name") -> str:
    """What a throttled person reads: how long, exactly (seconds, never minutes of lock-out), and what else helps."""
    return (f"There have been several tries {what} just now. Please wait {seconds} second{'s' if seconds != 1 else ''}"
            f" and try again, or ask your facilitator for a reset code.")


# ---------------------------------------------------------------------------------------------------
# Checks shared by every form that chooses a name or a password.


NAME_TAKEN = "Someone here already uses that name. Try adding an initial or a nickname."


def name_problem(name: str, *, taken_ok: bool = False) -> str | None:
    name = normalise_name(name)
    if not name:
        return "Please choose a name the group will know you by."
    if len(name) > NAME_MAX:
        return f"Please keep your name to {NAME_MAX} characters or fewer."
    if not taken_ok:
        return name_taken_problem(name)
    return None


def name_taken_problem(name: str) -> str | None:
    """Whether a new account may have this name. Names are unique, so a sign-up form has to say when one is taken;
    but an answer "taken" tells whoever asks that this person has an account here (and so is in a group like
    these). Each such answer counts against a budget per address (Throttle.take, counted before the lookup, so
    the wait says nothing about the name); a name that is free gives its attempt back. Someone choosing a name
    meets "taken" once or twice; someone trying a list of names is slowed to a crawl."""
    key = f"name-taken-from:{request.remote_addr}"
    wait = Throttle.take(key, *current_app.config["NAME_TAKEN_THROTTLE"])
    if wait:
        log.warning("name-check-throttled")
        return (f"Quite a few names already in use have been tried from here just now. Please wait {wait} "
                f"second{'s' if wait != 1 else ''}, then try again.")
    if not User.name_taken(name):
        Throttle.give_back(key)
        return None
    log.info("name-taken")
    return NAME_TAKEN


def password_problem(password: str, confirm: str | None) -> str | None:
    """`confirm` None: a form with one password box and a "Show password" switch instead of a second box (join)."""
    if len(password) < PASSWORD_MIN:
        return f"Please use at least {PASSWORD_MIN} characters. A few words together work well."
    if len(password) > PASSWORD_MAX:
        return f"Please use no more than {PASSWORD_MAX} characters."
    if confirm is not None and password != confirm:
        return "The two passwords are not the same. Please type them again."
    return None


# ---------------------------------------------------------------------------------------------------
# The workbook key rides in the session cookie, sealed with a key derived from the server's secret and bound
# to this person's session version: unreadable in the cookie, and dead once they log out anywhere. The key also
# takes a secret of this sign-in (models.Login), deleted at logout, a password change or reset, or after
# IDLE_MINUTES without use: a copied cookie then opens nothing, even with the server's secret and the database.


def _keep_sealed(name: str, user: User, secret: bytes) -> None:
    key = crypto.session_key(current_app.secret_key, current_login().secret)
    session[name] = b64encode(crypto.seal(key, secret, f"{name}:{user.id}:{user.sign_in_version}")).decode()


def _open_kept(name: str) -> bytes | None:
    sealed = session.get(name)
    login = current_login()
    if not sealed or login is None:
        return None
    key = crypto.session_key(current_app.secret_key, login.secret)
    try:
        return crypto.open_sealed(key, b64decode(sealed), f"{name}:{current_user.id}:{current_user.sign_in_version}")
    except (crypto.CannotOpen, ValueError):
        return None


def new_account_problems() -> dict[str, str]:
    """What is wrong with the name and password of a sign-up form (setup link or join), by field. Worked out once
    per request (a taken name counts against a budget: see name_taken_problem)."""
    if "account_problems" not in g:
        form = request.form
        problems = {"name": name_problem(form.get("name", "")),
                    "password": password_problem(form.get("password", ""), form.get("confirm"))}
        g.account_problems = {field: problem for field, problem in problems.items() if problem}
    return g.account_problems


def sign_in(user: User, data_key: bytes) -> None:
    session.clear()
    token, g.login = Login.start(user, idle_time())
    login_user(user, remember=False)
    session.permanent = True
    session["login"] = token
    session["active"] = activity.minute_number(utcnow())   # see web.load_user
    _keep_sealed("wk", user, data_key)
    remember_device(user)
    # The new session's form-token secret, made now and sent with the sign-in: made later, the first requests after
    # it (the next page, and another tab asking whether its person is back, /session) each made one of their own at
    # once, and the page whose cookie lost the race said "That form had gone stale" at its next form.
    g.pop("csrf_token", None)
    generate_csrf()
    log.info("sign-in user=%s", user.id)


def workbook_key() -> bytes | None:
    """The signed-in person's data key, or None if this session does not carry it (log in again)."""
    return _open_kept("wk")


LOG_IN_AGAIN = "Please log in again first, so the board can tell what is yours. Your words are still here."


def my_pseudonyms() -> bytes | None:
    """The key of the signed-in person's pseudonyms on the boards (crypto.pseudonym_key), or None without the
    workbook key in this session: then nothing on a board is recognised as theirs."""
    data_key = workbook_key()
    return crypto.pseudonym_key(data_key) if data_key else None


def remember_recovery_code(user: User, code: str) -> None:
    """Keep a new recovery code (sealed) until its owner says they have written it down."""
    _keep_sealed("new_recovery", user, code.encode())


def pending_recovery_code() -> str | None:
    code = _open_kept("new_recovery")
    return code.decode() if code else None


def card_tag(code: str) -> str:
    """Which recovery code a card showed, for its "I have written it down" form: a code made since in another tab
    must not be the one confirmed. A keyed hash: the page says nothing of any other code."""
    return hmac.new(current_app.secret_key.encode(), f"recovery card:{code}".encode(), "sha256").hexdigest()[:20]


def confirm_recovery_code(tag: str) -> bool:
    """Its owner has written down the recovery code kept in this session (the one their card showed, `tag`): from
    now on it opens their workbook, and it is not kept any more. False if the card they confirm is not the code
    kept (another tab made a newer one): that one is shown again."""
    code = pending_recovery_code()
    if code is None:
        return True   # confirmed already (a second tap, another tab)
    if tag and not hmac.compare_digest(tag, card_tag(code)):
        return False
    data_key = workbook_key()
    if data_key is not None:
        user = User.get_by_id(current_user.id)
        try:
            user.unlock_with_recovery_code(code)   # wrapping the key already: a setup or a reset made it so
        except crypto.CannotOpen:
            user.data_key, user.recovery_code = data_key, code
            user.rewrap_recovery()
            user.save(only=[User.key_by_recovery])
            log.info("recovery-code-confirmed user=%s", user.id)
    session.pop("new_recovery", None)
    return True


def sign_in_new_account(user: User) -> None:
    """Straight after an account or a fresh workbook is made: sign in, and hold the recovery code to show."""
    sign_in(user, user.data_key)
    remember_recovery_code(user, user.recovery_code)


class SetupLinkUsed(Exception):
    """The setup link was spent, by another request (a double submit of another form, or another person)."""


def sign_up_once(keep: Callable[[User], None], role: str = PARTICIPANT, card_later: bool = False) -> User | None:
    """Make the account of a sign-up form (a setup link, a join), save it with `keep` (which adds what goes with
    it), and sign its person in: once. The same form sent again after its answer was lost (the account made; the
    recovery code on the lost page never seen) is recognised by its request key, and signs in as the first answer
    would have. Returns the person signed in, or None when the form has problems to show (the name taken, among
    them). `card_later`: see User.new_account."""
    key = request.form.get("request_key")
    if not SentRequest.result_of(key)[0] and not new_account_problems():
        # Argon2id before the transaction, not in it: with the derivation inside, a room joining at once took
        # turns on the database's write lock, one derivation at a time, whatever the cores.
        user = User.new_account(request.form.get("name", ""), request.form.get("password", ""), role, card_later)
        try:
            made = SentRequest.once(key, lambda: keep(user))[0]
        except IntegrityError:
            if not User.name_taken(user.name):
                raise
            g.account_problems = {"name": NAME_TAKEN}   # someone chose the same name a moment before
            return None
        if made:
            sign_in_new_account(user)
            return user
    return _signed_up_before() if SentRequest.result_of(key)[0] else None


def _signed_up_before() -> User | None:
    """A sign-up sent again: with the name and password it made the account with, a new recovery code (the first
    one was only ever on the lost answer, so it is replaced), and signed in."""
    user = User.authenticate(request.form.get("name", ""), request.form.get("password", ""))
    if user is None:
        return None
    user.recovery_code = crypto.new_recovery_code()
    if user.recovery_card_confirmed:   # (a card offered later has wrapped nothing yet: it wraps once confirmed)
        user.rewrap_recovery()
        user.save(only=[User.key_by_recovery])
    sign_in_new_account(user)
    log.info("sign-up-sent-again user=%s", user.id)
    return user


def password_attempt(name: str) -> str | None:
    """Before a password is checked for `name` (logging in, or a current password to confirm something): None to
    go ahead, the attempt counted already (so attempts made at once cannot slip past together); else what to say.
    Counted per name (someone guessing one person's password) and per address (someone trying made-up names),
    each slowed down step by step, never locked (see Throttle.take). From a device this name has signed in on
    with its current password (`known_device`), counted per name for that device only: someone guessing the name's
    password from elsewhere, for as long as they keep at it, never slows its owner down there."""
    cfg = current_app.config
    device = known_device(name)
    by_name = f"login-device:{device}:{name_key(name)}" if device else f"login:{name_key(name)}"
    g.password_keys = (f"login-from:{request.remote_addr}", by_name)
    by_address, by_name = g.password_keys
    wait = Throttle.take(by_address, *cfg["LOGIN_THROTTLE_ADDRESS"])
    if wait:
        log.warning("sign-in-throttled by=address")
        return please_wait(wait, "from this device")
    wait = Throttle.take(by_name, *cfg["LOGIN_THROTTLE"])
    if wait:
        Throttle.give_back(by_address)
        log.warning("sign-in-throttled by=%s", "device" if device else "name")
        return please_wait(wait)
    return None


def password_was_right(name: str) -> None:
    """The right password: its attempt does not count, and the name's earlier wrong ones are forgotten (those made
    on this device, if it is one they signed in on before)."""
    by_address, by_name = g.password_keys
    Throttle.give_back(by_address)
    Throttle.clear(by_name)


# A device someone has signed in on keeps a cookie saying so (their account and password, by a keyed hash only, so the
# next person on a shared tablet cannot read whose): their password attempts there are counted apart from anyone
# else's. A new password (a change, a reset) makes every such cookie for the old one worthless: nobody can gather
# cookies while they know a password, to guess at ten tries a cookie once it has changed.
DEVICE_COOKIE = "p2p_device"
DEVICE_NAMES_MAX = 20      # people who have signed in on one shared tablet
DEVICE_DAYS = 400


def _device_cookie() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="p2p: a device signed in on before")


def _account_tag(user: User) -> str:
    said = f"device:{user.id}:{user.password_hash}".encode()
    return hmac.new(current_app.secret_key.encode(), said, "sha256").hexdigest()[:24]


def _device() -> dict:
    try:
        found = _device_cookie().loads(request.cookies.get(DEVICE_COOKIE, ""))
    except BadSignature:
        return {}
    valid = isinstance(found, dict) and isinstance(found.get("d"), str) and isinstance(found.get("n"), list)
    return found if valid else {}


def known_device(name: str) -> str | None:
    """This device's id, if `name` has signed in on it before with its current password; else None."""
    device = _device()
    user = User.by_name(name) if device else None
    return device["d"] if user and _account_tag(user) in device["n"] else None


def remember_device(user: User) -> None:
    """`user` signed in here: the device's cookie (made now if it had none) says so, for DEVICE_DAYS."""
    device, tag = _device(), _account_tag(user)
    device_id = device.get("d") or secrets.token_urlsafe(16)
    names = [known for known in device.get("n", []) if known != tag][-(DEVICE_NAMES_MAX - 1):] + [tag]

    @after_this_request
    def _set(response):
        response.set_cookie(DEVICE_COOKIE, _device_cookie().dumps({"d": device_id, "n": names}),
                            max_age=DEVICE_DAYS * 86400, httponly=True, samesite="Lax",
                            secure=current_app.config["SESSION_COOKIE_SECURE"] or request.is_secure)
        return response


# ---------------------------------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = safe_next(request.values.get("next"))
    # Signed in but without the workbook key (a session from before it was needed): the password opens it.
    if current_user.is_authenticated and workbook_key() is not None:
        return redirect(next_url)
    error = None
    name = request.form.get("name", "") or (current_user.name if current_user.is_authenticated else "")
    if request.method == "POST":
        error = password_attempt(name)
        if not error:
            user = User.authenticate(name, request.form.get("password", ""))
            if user is None:
                error = replaced_password_note(name, request.form.get("password", "")) or WRONG_LOGIN
                log.info("sign-in-failed")
            else:
                password_was_right(name)
                if user.has_workbook_key:
                    sign_in(user, user.data_key)   # opened by the one derivation that checked the password
                else:  # an account made before workbooks existed gets its key now
                    user.new_workbook_key(request.form.get("password", ""))
                    user.save()
                    sign_in_new_account(user)
                    return redirect(url_for("auth.recovery_code", next=next_url))
                return redirect(next_url)
    return render_template("auth/login.html", error=error, name=name, next_url=next_url)


def replaced_password_note(name: str, password: str) -> str | None:
    """After a wrong password: if it is the one a recent reset replaced, its owner is told when, and with whose
    code, the password was reset: if someone else did it, this is where the person finds out. One more password
    check for every wrong password (waste_time when there is nothing to check), so how long a wrong password
    takes says nothing about whether a name had a reset."""
    user = User.by_name(name)
    reset = PasswordReset.replaced_password(user) if user else None
    if reset is None:
        passwords.waste_time()
        return None
    if not crypto.password_matches(reset.old_password_hash, password):
        return None
    log.info("sign-in-with-replaced-password user=%s reset=%s", user.id, reset.id)
    by = User.get_or_none(User.id == reset.by_id)
    when = local_moment(reset.at)
    return (f"That was your password until {when}, when it was reset with a reset code from "
            f"{by.name if by else 'a facilitator who has since left'}. If you asked for that, please use your new "
            f"password. If you didn't, please talk to a facilitator you trust, or to whoever looks after this app: "
            f"they can give you a new reset code. Your workbook is safe with your recovery code.")


def local_moment(moment) -> str:
    from .web import local_time
    return f"{local_time(moment, current_app.config['TIMEZONE']):%-d %B at %H:%M}"


@bp.post("/logout")
@login_required
def logout():
    # Ending the session version signs this person out on every device, and a copied cookie dies with it: the
    # secrets of their sign-ins are deleted, and folded out of the WAL (checkpoint) so no copy of them is left.
    user = User.get_by_id(current_user.id)
    user.end_sign_ins()
    checkpoint()
    logout_user()
    session.clear()
    log.info("sign-out user=%s", user.id)
    flash("You have logged out. See you next time.")
    return redirect(url_for("pages.home"))


@bp.get("/session")
@login_required
def session_state():
    """Asked by an open page that found itself logged out (static/js/autosave.js): once its owner has logged in
    again (in another tab, say), the page takes the new form token and saves what it kept, without a reload."""
    return {"user": current_user.id, "csrf": generate_csrf(), "workbook": workbook_key() is not None}


@bp.route("/setup/<token>", methods=["GET", "POST"])
def setup(token: str):
    """The one-time link printed by the server (or `p2p setup-link`) makes a facilitator account."""
    link = OneTimeToken.find(OneTimeToken.SETUP, token)
    errors, name = {}, request.form.get("name", "")
    if request.method == "POST":   # also after the link was spent: by this very form, sent again
        def facilitator(user: User) -> None:
            if link is None or not link.spend():
                raise SetupLinkUsed
            user.save()
        try:
            user = sign_up_once(facilitator, role=FACILITATOR)
        except SetupLinkUsed:
            link = None
        else:
            if user:
                flash(f"Welcome, {user.name}. Your facilitator account is ready.")
                return redirect(url_for("auth.recovery_code"))
            errors = new_account_problems()
    if link is None:
        return render_template("auth/setup_used.html"), 404
    return render_template("auth/setup.html", errors=errors, name=name, token=token)


@bp.route("/account", methods=["GET"])
@login_required
def account():
    return render_template("auth/account.html")


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    errors = {}
    if request.method == "POST":
        user = User.get_by_id(current_user.id)
        new, current = request.form.get("password", ""), request.form.get("current", "")
        waiting, checked = password_attempt(user.name), None
        if waiting:
            errors["current"] = waiting
        elif not (checked := User.authenticate(user.name, current)):
            errors["current"] = "That is not your current password. Please try again."
        else:
            password_was_right(user.name)
        problem = password_problem(new, request.form.get("confirm", ""))
        if problem:
            errors["password"] = problem
        if not errors:
            user.set_password(new, checked.data_key)  # re-wraps the key; ends other sessions
            checkpoint()   # the ended sign-ins' secrets, out of the WAL
            sign_in(user, user.data_key)
            log.info("password-changed user=%s", user.id)
            flash("Your password has been changed. Other devices have been logged out.")
            return redirect(url_for("auth.account"))
    return render_template("auth/password.html", errors=errors)


@bp.route("/reset", methods=["GET", "POST"])
def reset():
    """A participant uses the one-time code their facilitator gave them to choose a new password."""
    errors, name = {}, request.form.get("name", "")
    if request.method == "POST":
        key = f"reset:{name_key(name)}"
        user = User.by_name(name)
        code = OneTimeToken.find(OneTimeToken.RESET, normalise_join_code(request.form.get("code", "")))
        password = request.form.get("password", "")
        wait = Throttle.take(key, *current_app.config["LOGIN_THROTTLE"])
        if wait:
            errors["code"] = please_wait(wait)
        elif user is None or code is None or code.user_id != user.id:
            errors["code"] = ("That name and reset code don't match, or the code has been used or has expired. "
                              "Please check them, or ask your facilitator for a new code.")
        else:
            problem = password_problem(password, request.form.get("confirm", ""))
            if problem:
                errors["password"] = problem
            recovery, data_key = request.form.get("recovery", "").strip(), None
            if recovery:
                try:
                    data_key = user.unlock_with_recovery_code(recovery)
                except crypto.CannotOpen:
                    errors["recovery"] = ("That recovery code doesn't open this workbook. Please check it, or clear it "
                                          "and tick “I don’t have my recovery code” to start a fresh workbook.")
            elif user.has_workbook_key and not request.form.get("fresh"):
                errors["recovery"] = ("Please type your recovery code to keep your workbook, or tick the box to "
                                      "start a fresh one.")
            if not errors:
                # Derived before the transaction: every write of the server would wait through Argon2id for it.
                record = crypto.new_password_record(password)
                with db.atomic():
                    if not code.spend():  # the same code sent twice: the first one already did the work
                        return redirect(url_for("auth.login"))
                    # Recorded before the new password: it keeps the one replaced, and holds the groups the
                    # code's facilitator does not run if the workbook starts afresh (see PasswordReset.record).
                    reset = PasswordReset.record(user, code.created_by_id, kept_workbook=bool(data_key))
                    if data_key:
                        user.set_password(password, data_key, record)
                    else:
                        user.start_fresh_workbook(password, record)
                        Share.withdraw_all(user)
                checkpoint()   # the ended sign-ins' secrets, and the shares of a workbook left behind, out of the WAL
                Throttle.clear(key)
                log.info("password-reset user=%s kept-workbook=%s reset=%s by=%s", user.id, bool(data_key), reset.id,
                         code.created_by_id or "-")
                if data_key:
                    sign_in(user, data_key)
                    flash("Your new password is set and your workbook is just as you left it.")
                    destination = url_for("pages.home")
                else:
                    sign_in_new_account(user)
                    flash("Your new password is set. You have a fresh, empty workbook.")
                    destination = url_for("auth.recovery_code")
                session["reset_known"] = reset.id   # this session was made by it: the note waits for the next one
                return redirect(destination)
    return render_template("auth/reset.html", errors=errors, name=name)


# ---------------------------------------------------------------------------------------------------
# Telling the person about a reset: a note on their pages at every sign-in after it, until they put it away.


@bp.app_template_global()
def reset_note() -> dict | None:
    """For base.html: the resets the signed-in person has not put away, and whom to talk to if one was not them
    (the facilitators of their groups, except whoever gave the code). None when there is nothing to tell, and in
    the session a reset itself made (its person knows; the note waits for their next sign-in)."""
    if not current_user.is_authenticated:
        return None
    resets = PasswordReset.to_tell(current_user, session.get("reset_known", 0))
    if not resets:
        return None
    gave_codes = {reset.by_id for reset in resets}
    groups = [group.id for group in Group.for_user(current_user)]
    talk_to = sorted({m.user.name for m in Membership.select(Membership, User).join(User).where(
        Membership.group.in_(groups) & (Membership.role == FACILITATOR)) if m.user_id not in gave_codes},
        key=str.casefold) if groups else []
    fresh = [reset for reset in resets if not reset.kept_workbook]
    return {"resets": resets, "upto": resets[0].id, "talk_to": talk_to, "fresh": bool(fresh),
            # whose codes held the groups others run; none left (an account since deleted): every group was held
            "fresh_by": sorted({reset.by.name for reset in fresh if reset.by_id}, key=str.casefold)
            if all(reset.by_id for reset in fresh) else []}


@bp.post("/account/reset-note")
@login_required
def put_reset_note_away():
    upto = whole_number(request.form.get("upto"))
    if upto:
        PasswordReset.put_away(current_user, upto)
    return redirect(safe_next(request.form.get("back")))


@bp.route("/account/recovery-code", methods=["GET", "POST"])
@login_required
def recovery_code():
    """Shows a new recovery code until its owner says it is written down; it is never shown again after. Someone
    who joined with a join code sees it first when they open their workbook (workbook.card_first): then, in a
    session that does not hold it any more (they joined on another device, say), a new one is made, kept in this
    session only, and wraps their key once they say they have written it down (confirm_recovery_code)."""
    next_url = safe_next(request.values.get("next"))
    if request.method == "POST":
        if not confirm_recovery_code(request.form.get("card", "")):
            flash("A newer recovery code was made in another tab or window. This is the one to keep.")
            return redirect(url_for("auth.recovery_code", next=next_url))
        return redirect(next_url)
    code = pending_recovery_code()
    first = not current_user.recovery_card_confirmed
    if code is None and first:
        if workbook_key() is None:
            flash("Please log in again first, so your workbook is open.")
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        code = crypto.new_recovery_code()   # in this session only: nothing is stored until it is confirmed
        remember_recovery_code(current_user, code)
    return render_template("auth/recovery_code.html", code=code and crypto.format_recovery_code(code),
                           card=code and card_tag(code), first=first, next_url=next_url)


@bp.post("/account/recovery-code/new")
@login_required
def new_recovery_code():
    """A lost code can be replaced while signed in: the old one stops working."""
    data_key = workbook_key()
    if data_key is None:
        flash("Please log in again first, so your workbook is open.")
        return redirect(url_for("auth.login", next=url_for("auth.recovery_code")))
    user = User.get_by_id(current_user.id)
    user.data_key, user.recovery_code = data_key, crypto.new_recovery_code()
    user.rewrap_recovery()
    user.save()
    remember_recovery_code(user, user.recovery_code)
    log.info("recovery-code-replaced user=%s", user.id)
    return redirect(url_for("auth.recovery_code"))


@bp.route("/facilitators/invite", methods=["GET", "POST"])
@login_required
def invite_facilitator():
    """A facilitator brings in a colleague with the same kind of one-time link the server prints at first start."""
    if not current_user.is_facilitator:
        abort(404)
    link = None
    if request.method == "POST":
        token = OneTimeToken.issue(OneTimeToken.SETUP, current_app.config["SETUP_LINK_HOURS"],
                                   created_by=User.get_by_id(current_user.id))
        link = url_for("auth.setup", token=token, _external=True)
        log.info("facilitator-link-issued by=%s", current_user.id)
    return render_template("auth/invite_facilitator.html", link=link, hours=current_app.config["SETUP_LINK_HOURS"])


@bp.route("/account/delete", methods=["GET", "POST"])
@login_required
def delete_account():
    """Gone from the database: the account, memberships, workbook. Facilitators hand their groups on first."""
    user = User.get_by_id(current_user.id)
    sole = [g for g in Group.for_user(user) if g.my_role == FACILITATOR and g.memberships(FACILITATOR).count() == 1
            and g.memberships().count() > 1]
    error = None
    if request.method == "POST" and not sole:
        error = password_attempt(user.name) or (None if User.authenticate(user.name, request.form.get("password", ""))
                                                 else "That is not your password. Please try again.")
        if not error:
            forget_account(user, my_pseudonyms())
            logout_user()
            session.clear()
            log.info("account-deleted user=%s", user.id)
            flash("Your account and everything in it have been deleted. Take care.")
            return redirect(url_for("pages.home"))
    return render_template("auth/delete_account.html", sole=sole, error=error)
