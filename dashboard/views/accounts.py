"""Dashboard: signing in and out, resetting a forgotten password, and switching between one's shops."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import Http404
from django.shortcuts import redirect
from django.urls import path, reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from shop.models import Role

from .. import signin_throttle
from ..access import SESSION_SHOP_KEY, seller_view
from ..forms.accounts import ChooseNewPasswordForm, ResetPasswordRequestForm, ShopSwitchForm, SignInForm


class SignInView(auth_views.LoginView):
    """Email and password, with a lockout after repeated failures (see ``dashboard.signin_throttle``)."""

    template_name = "dashboard/accounts/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        email = request.POST.get("username", "")
        # Counted and checked before the password, so a locked-out guess costs nothing and reveals nothing.
        if lockout := signin_throttle.begin_attempt(request, email):
            return self.locked_out(email, lockout)
        form = self.get_form()
        if form.is_valid():
            signin_throttle.record_success(request, email)
            return self.form_valid(form)
        if lockout := signin_throttle.record_failure(request, email):
            return self.locked_out(email, lockout)
        return self.form_invalid(form)

    def locked_out(self, email: str, lockout: signin_throttle.Lockout):
        """The same answer whether or not an account with that email exists."""
        form = self.get_form_class()(self.request, initial={"username": email})
        minutes = lockout.minutes_left
        message = ngettext(
            "Too many failed sign-ins. Try again in %(minutes)d minute.",
            "Too many failed sign-ins. Try again in %(minutes)d minutes.",
            minutes,
        ) % {"minutes": minutes}
        response = self.render_to_response(self.get_context_data(form=form, lockout_message=message))
        response.status_code = 429
        response["Retry-After"] = str(lockout.seconds_left)
        return response


class SignOutView(auth_views.LogoutView):
    """POST only (Django's LogoutView refuses GET): a link or an image cannot sign anyone out."""

    next_page = reverse_lazy("dashboard:login")

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, _("You have signed out."))
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """Mails a one-time link (Django's mail backend); answers the same whether or not the email is known."""

    template_name = "dashboard/accounts/password_reset.html"
    form_class = ResetPasswordRequestForm
    email_template_name = "dashboard/accounts/email/password_reset.txt"
    subject_template_name = "dashboard/accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("dashboard:password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "dashboard/accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "dashboard/accounts/password_reset_confirm.html"
    form_class = ChooseNewPasswordForm
    success_url = reverse_lazy("dashboard:password_reset_complete")

    def form_valid(self, form):
        # Whoever reads the account's mail may try again at once: the lockout on the account ends here.
        signin_throttle.clear_account(form.user.email)
        return super().form_valid(form)


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "dashboard/accounts/password_reset_complete.html"


@require_POST
@seller_view(Role.STAFF)
def switch_shop(request):
    """Work in another of one's shops; a shop the user is not a member of is a 404 and nothing changes."""
    form = ShopSwitchForm(request.POST)
    shops = {shop.pk: shop for shop in request.dashboard_shops}
    if not form.is_valid() or form.cleaned_data["shop"] not in shops:
        raise Http404(_("No such shop."))
    shop = shops[form.cleaned_data["shop"]]
    request.session[SESSION_SHOP_KEY] = shop.pk
    messages.success(request, _("You are now working in %(shop)s.") % {"shop": shop.name})
    return redirect("dashboard:home")


urlpatterns = [
    path("login/", SignInView.as_view(), name="login"),
    path("logout/", SignOutView.as_view(), name="logout"),
    path("password-reset/", PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("password-reset/done/", PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("switch-shop/", switch_shop, name="switch_shop"),
]
