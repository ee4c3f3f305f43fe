"""The HTML Entra shows a browser: the sign-in form, sign-in errors, the form_post answer and
the signed-out page. Served on the plain-HTTP origin so a browser needs no CA.
"""

from __future__ import annotations

import html
from urllib.parse import urlencode

from werkzeug.wrappers import Response

from simulator.identity.errors import AadError, aadsts_body

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{{font-family:"Segoe UI",Arial,sans-serif;background:#f2f2f2;margin:0}}
main{{max-width:440px;margin:8vh auto;background:#fff;padding:44px;box-shadow:0 2px 6px #0003}}
h1{{font-size:24px;font-weight:600;margin:0 0 16px}}
label{{display:block;margin:12px 0 4px}}
input[type=email],input[type=password]{{width:100%;padding:6px 0;border:0;
border-bottom:1px solid #666;font-size:15px}}
.error{{color:#e81123;margin:12px 0}} .meta{{color:#666;font-size:13px;margin-top:24px}}
button{{margin-top:24px;background:#0067b8;color:#fff;border:0;padding:8px 32px;font-size:15px}}
code{{font-size:12px;word-break:break-all}}
</style></head><body><main>{body}</main></body></html>"""


def sign_in_page(
    *,
    app_name: str,
    tenant_name: str | None,
    params: dict[str, str],
    username: str,
    error: AadError | None = None,
) -> Response:
    """The username/password form; `params` are the authorize request's, kept for the post."""
    tenant_line = (
        f"<p>Signing in to <strong>{html.escape(tenant_name)}</strong></p>" if tenant_name else ""
    )
    error_html = (
        f'<p class="error" id="usernameError" role="alert">{html.escape(str(error))}</p>'
        if error
        else ""
    )
    # The form posts back to this very URL; the query string keeps the request's parameters.
    action = html.escape("?" + urlencode(params))
    focus_login, focus_password = ("", " autofocus") if username else (" autofocus", "")
    body = (
        f"<h1>Sign in</h1><p>to continue to {html.escape(app_name)}</p>"
        f"{tenant_line}{error_html}"
        f'<form method="post" action="{action}" autocomplete="off">'
        '<label for="i0116">Email, phone, or Skype</label>'
        f'<input type="email" name="login" id="i0116" value="{html.escape(username)}" required'
        f"{focus_login}>"
        '<label for="i0118">Password</label>'
        f'<input type="password" name="passwd" id="i0118" required{focus_password}>'
        '<button type="submit" id="idSIButton9">Sign in</button></form>'
        '<p class="meta">Microsoft Entra ID (local simulator)</p>'
    )
    return Response(
        _PAGE.format(title="Sign in to your account", body=body),
        content_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"},
    )


def error_page(exc: AadError) -> Response:
    """An error Entra shows instead of redirecting (the redirect URI is not trusted yet)."""
    body = aadsts_body(exc.error, exc.code, exc.message)
    lines = body["error_description"].split("\r\n")
    details = "".join(f"<p><code>{html.escape(line)}</code></p>" for line in lines[1:])
    content = (
        "<h1>Sorry, but we're having trouble signing you in.</h1>"
        f'<p class="error" role="alert">{html.escape(lines[0])}</p>{details}'
    )
    return Response(
        _PAGE.format(title="Sign in error", body=content),
        status=exc.status,
        content_type="text/html; charset=utf-8",
        headers={"Cache-Control": "no-store"},
    )


def form_post_page(action: str, values: dict[str, str]) -> Response:
    """response_mode=form_post: a form that carries the answer to the redirect URI."""
    fields = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in values.items()
    )
    page = (
        "<!doctype html><html><head><title>Working...</title></head><body>"
        f'<form method="post" action="{html.escape(action)}">{fields}'
        '<p>Signed in. <input type="submit" value="Continue"></p></form></body></html>'
    )
    return Response(page, content_type="text/html; charset=utf-8")


def signed_out_page() -> Response:
    return Response(
        _PAGE.format(title="Signed out", body="<h1>You signed out of your account</h1>"),
        content_type="text/html; charset=utf-8",
    )
