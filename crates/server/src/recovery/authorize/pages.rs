//! The sign-in pages a person sees in the browser: plain HTML forms, no
//! script, every value escaped.

use super::Offer;

/// Escapes text for HTML element content and quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;line-height:1.5}}
form{{margin:1rem 0;padding:1rem;border:1px solid #ccc;border-radius:.5rem}}input,button{{font-size:1rem;padding:.4rem;margin:.2rem 0}}
input[type=email],input[type=tel],input[type=text]{{width:100%;box-sizing:border-box}}.error{{color:#a00}}</style>
</head><body><h1>{title}</h1>
{body}
</body></html>"#,
        title = escape(title),
    )
}

/// The choice of ways to sign in.
pub fn sign_in(token: &str, offer: &Offer, error: Option<&str>) -> String {
    let t = escape(token);
    let mut body = format!(
        "<p>Sign in to let your wallet recover your Stellar account.</p>\
<p>Your wallet shows the code <strong>{}</strong>. If it does not, or you did not just ask a wallet to \
recover or protect an account, close this page: someone may be trying to reach your accounts.</p>",
        escape(&super::user_code(token))
    );
    if let Some(e) = error {
        body.push_str(&format!(
            r#"<p class="error" role="alert">{}</p>"#,
            escape(e)
        ));
    }
    if offer.passwords {
        body.push_str(&format!(
            r#"<form method="post" action="/authorize/password"><input type="hidden" name="token" value="{t}">
<label>Email address<br><input type="email" name="email" required autocomplete="username"></label><br>
<label>Password<br><input type="password" name="password" required autocomplete="current-password"></label><br>
<button type="submit">Sign in</button>
<p><a href="/authorize/signup?token={t}">Create an account</a> · <a href="/authorize/reset?token={t}">Forgot your password?</a> · <a href="/authorize/totp/setup?token={t}">Add an authenticator app</a></p></form>"#
        ));
    }
    if offer.email {
        body.push_str(&format!(
            r#"<form method="post" action="/authorize/code"><input type="hidden" name="token" value="{t}"><input type="hidden" name="type" value="email">
<label>Email address<br><input type="email" name="value" required autocomplete="email"></label><br>
<button type="submit">Email me a code</button></form>"#
        ));
    }
    if offer.sms {
        body.push_str(&format!(
            r#"<form method="post" action="/authorize/code"><input type="hidden" name="token" value="{t}"><input type="hidden" name="type" value="phone_number">
<label>Phone number, international format (+14155550100)<br><input type="tel" name="value" required autocomplete="tel"></label><br>
<button type="submit">Text me a code</button></form>"#
        ));
    }
    for (name, label) in &offer.oidc {
        body.push_str(&format!(
            r#"<p><a href="/authorize/oidc/{}?token={t}">Sign in with {}</a></p>"#,
            escape(name),
            escape(label)
        ));
    }
    if !offer.email && !offer.passwords && !offer.sms && offer.oidc.is_empty() {
        body.push_str("<p>No way of signing in is configured on this server.</p>");
    }
    page("Sign in", &body)
}

/// Where to type the code that was sent.
pub fn enter_code(token: &str, sent_to: &str, error: Option<&str>) -> String {
    let mut body = format!(
        "<p>We sent a code to <strong>{}</strong>. It is valid for a few minutes.</p>",
        escape(sent_to)
    );
    if let Some(e) = error {
        body.push_str(&format!(
            r#"<p class="error" role="alert">{}</p>"#,
            escape(e)
        ));
    }
    body.push_str(&format!(
        r#"<form method="post" action="/authorize/code/verify"><input type="hidden" name="token" value="{}">
<label>Code<br><input type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required></label><br>
<button type="submit">Sign in</button></form>"#,
        escape(token)
    ));
    page("Enter your code", &body)
}

fn error_line(error: Option<&str>) -> String {
    error.map_or_else(String::new, |e| {
        format!(r#"<p class="error" role="alert">{}</p>"#, escape(e))
    })
}

/// Creating an email-and-password login.
pub fn sign_up(token: &str, error: Option<&str>) -> String {
    let t = escape(token);
    page(
        "Create an account",
        &format!(
            r#"{}<form method="post" action="/authorize/signup"><input type="hidden" name="token" value="{t}">
<label>Email address<br><input type="email" name="email" required autocomplete="email"></label><br>
<label>Password (at least 10 characters)<br><input type="password" name="password" required minlength="10" autocomplete="new-password"></label><br>
<button type="submit">Create the account</button></form>
<p><a href="/authorize?token={t}">Back to sign-in</a></p>"#,
            error_line(error)
        ),
    )
}

/// After a sign-up or a reset request: look in the mailbox.
pub fn check_mail(token: Option<&str>, sent_to: &str, what: &str) -> String {
    let back = token.map_or_else(String::new, |t| {
        format!(
            r#"<p>Then come back here and <a href="/authorize?token={}">sign in</a>.</p>"#,
            escape(t)
        )
    });
    page(
        "Check your email",
        &format!(
            "<p>If all is well, a mail is on its way to <strong>{}</strong> {}.</p>{back}",
            escape(sent_to),
            escape(what)
        ),
    )
}

/// The confirmation link's page: the password chosen at sign-up, then a
/// button (mail scanners that open links confirm nothing, and neither does
/// a click on a mail someone else caused to be sent).
pub fn confirm(link: &str, error: Option<&str>) -> String {
    page(
        "Confirm your email address",
        &format!(
            r#"{}<p>If you did not create an account for account recovery, ignore this page.</p>
<form method="post" action="/authorize/confirm"><input type="hidden" name="link" value="{}">
<label>The password you chose<br><input type="password" name="password" required autocomplete="current-password"></label><br>
<button type="submit">Confirm my email address</button></form>"#,
            error_line(error),
            escape(link)
        ),
    )
}

/// Asking for a reset link.
pub fn reset(token: &str, error: Option<&str>) -> String {
    let t = escape(token);
    page(
        "Forgot your password?",
        &format!(
            r#"{}<form method="post" action="/authorize/reset"><input type="hidden" name="token" value="{t}">
<label>Email address<br><input type="email" name="email" required autocomplete="email"></label><br>
<button type="submit">Mail me a link</button></form>"#,
            error_line(error)
        ),
    )
}

/// Choosing a new password from a reset link.
pub fn new_password(link: &str, error: Option<&str>) -> String {
    page(
        "Choose a new password",
        &format!(
            r#"{}<form method="post" action="/authorize/reset/new"><input type="hidden" name="link" value="{}">
<label>New password (at least 10 characters)<br><input type="password" name="password" required minlength="10" autocomplete="new-password"></label><br>
<button type="submit">Save the password</button></form>"#,
            error_line(error),
            escape(link)
        ),
    )
}

/// The authenticator app's code, after the password.
pub fn enter_totp(token: &str, error: Option<&str>) -> String {
    page(
        "Enter the code from your authenticator app",
        &format!(
            r#"{}<form method="post" action="/authorize/totp"><input type="hidden" name="token" value="{}">
<label>Code<br><input type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required></label><br>
<button type="submit">Sign in</button></form>"#,
            error_line(error),
            escape(token)
        ),
    )
}

/// Adding an authenticator app: the login's email address and password.
pub fn totp_setup(token: &str, error: Option<&str>) -> String {
    let t = escape(token);
    page(
        "Add an authenticator app",
        &format!(
            r#"{}<p>Once added, signing in with your password also asks for a code from the app.</p>
<form method="post" action="/authorize/totp/setup"><input type="hidden" name="token" value="{t}">
<label>Email address<br><input type="email" name="email" required autocomplete="username"></label><br>
<label>Password<br><input type="password" name="password" required autocomplete="current-password"></label><br>
<button type="submit">Continue</button></form>
<p><a href="/authorize?token={t}">Back to sign-in</a></p>"#,
            error_line(error)
        ),
    )
}

/// The secret to add to the app, and where to type its first code.
pub fn totp_secret(link: &str, secret: &str, url: &str, error: Option<&str>) -> String {
    page(
        "Add this login to your app",
        &format!(
            r#"{}<p>In your authenticator app, add an account with this key:</p>
<p><code>{}</code></p><p>or open <a href="{}">this link</a> on the device with the app.</p>
<form method="post" action="/authorize/totp/confirm"><input type="hidden" name="link" value="{}">
<label>The code the app shows<br><input type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required></label><br>
<button type="submit">Finish</button></form>"#,
            error_line(error),
            escape(secret),
            escape(url),
            escape(link)
        ),
    )
}

/// A finished step with nothing more to do on this page.
pub fn message(title: &str, text: &str) -> String {
    page(title, &format!("<p>{}</p>", escape(text)))
}

/// Signed in.
pub fn done() -> String {
    page(
        "You are signed in",
        "<p>You can close this page and go back to your wallet.</p>",
    )
}

/// Something went wrong.
pub fn problem(message: &str) -> String {
    page(
        "Sign-in problem",
        &format!(r#"<p class="error" role="alert">{}</p>"#, escape(message)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        let html = problem("<script>alert(1)</script>");
        assert!(!html.contains("<script>"));
    }
}
