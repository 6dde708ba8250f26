"""The compliance console in a real browser: Debian's headless Chromium,
driven by the published selenium, as a member of staff would use it.

Run by crates/server/tests/console_browser.rs with one JSON argument:
  admin      the admin listener's base URL (http://127.0.0.1:PORT)
  public     the public listener's base URL (for SEP-12 checks)
  token      the admin token
  name       the staff member's name
  customer   a customer id, with fields and a document uploaded by SEP-12
  kind       its SEP-12 type
  field      the field to reject
  value      a value of one of its fields, to find on the page
  customer_token  a SEP-10 token of the customer (GET /customer)
  transaction     a SEP-31 transaction in pending_receiver
  shots      the folder for screenshots
  chromedriver    the driver's path

Prints one JSON line: {"ok": true, "steps": [...], "requests": N} or fails.
"""

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.support.ui import Select, WebDriverWait

cfg = json.loads(sys.argv[1])
admin = cfg["admin"].rstrip("/")
os.makedirs(cfg["shots"], exist_ok=True)
steps = []


def step(name):
    steps.append(name)
    driver.save_screenshot(os.path.join(cfg["shots"], f"{len(steps):02d}-{name}.png"))


def check(cond, what):
    if not cond:
        raise AssertionError(f"{what} (page {driver.current_url}):\n{driver.page_source[:3000]}")


def until(cond, what):
    """Waits (20 s at most) for `cond(driver)`: a click's page may still be
    loading when the next line runs."""
    try:
        WebDriverWait(driver, 20, poll_frequency=0.1).until(lambda d: cond(d))
    except TimeoutException:
        check(False, what)


def until_text(text, what):
    until(lambda d: text in d.page_source, what)


def sep12(customer_id):
    q = urllib.parse.urlencode({"id": customer_id, "type": cfg["kind"]})
    req = urllib.request.Request(
        f"{cfg['public'].rstrip('/')}/customer?{q}",
        headers={"Authorization": f"Bearer {cfg['customer_token']}"},
    )
    with urllib.request.urlopen(req, timeout=10) as res:
        return json.load(res)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def raw(method, path, body=None, cookie=None):
    """A request outside the browser: (status, headers, text)."""
    data = urllib.parse.urlencode(body).encode() if body is not None else None
    req = urllib.request.Request(admin + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
    if cookie:
        req.add_header("Cookie", f"mooring_console={cookie}")
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=10) as res:
            return res.status, res.headers, res.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


options = webdriver.ChromeOptions()
# The console must work with scripts disabled: the whole walk runs so.
for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
          "--window-size=1280,1000", "--no-first-run", "--disable-extensions",
          "--blink-settings=scriptEnabled=false"]:
    options.add_argument(a)
options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
driver = webdriver.Chrome(service=Service(executable_path=cfg["chromedriver"]), options=options)
driver.set_page_load_timeout(30)
try:
    # Sign in.
    driver.get(admin + "/admin/")
    step("sign-in")
    driver.find_element(By.NAME, "name").send_keys(cfg["name"])
    driver.find_element(By.NAME, "token").send_keys(cfg["token"])
    driver.find_element(By.CSS_SELECTOR, "form[action='/admin/login'] button").click()
    until(lambda d: d.current_url.endswith("/admin/console/customers"), "signed in, at the customers")
    check(f"admin:{cfg['name']}" in driver.page_source, "the page says who is signed in")
    step("customers")

    # Find the customer who uploaded fields and a document, and open it.
    driver.find_element(By.LINK_TEXT, cfg["customer"]).click()
    until_text(cfg["value"], "the customer's fields, decrypted")
    step("customer")

    # View the document inline.
    driver.find_element(By.LINK_TEXT, "View document").click()
    until(lambda d: d.find_elements(By.CSS_SELECTOR, ".doc iframe"), "the document page")
    frame = driver.find_element(By.CSS_SELECTOR, ".doc iframe")
    driver.switch_to.frame(frame)
    img = driver.find_element(By.TAG_NAME, "img")
    check(img.size["width"] > 0 and img.size["height"] > 0, "the image shows")
    driver.switch_to.default_content()
    step("document")
    driver.back()
    until_text("Set status", "back at the customer")

    # Reject one field with a reason: the customer's SEP-12 status changes.
    row = driver.find_element(By.XPATH, f"//tr[td[1][normalize-space()='{cfg['field']}']]")
    Select(row.find_element(By.NAME, "status")).select_by_value("REJECTED")
    row.find_element(By.NAME, "reason").send_keys("the scan is unreadable")
    row.find_element(By.CSS_SELECTOR, "button").click()
    until_text("is now REJECTED", "the rejection is confirmed")
    step("field-rejected")
    seen = sep12(cfg["customer"])
    check(seen["status"] == "NEEDS_INFO", f"SEP-12 says NEEDS_INFO: {seen}")
    field = seen["provided_fields"][cfg["field"]]
    check(field["status"] == "REJECTED" and field.get("error") == "the scan is unreadable",
          f"SEP-12 shows the rejected field and why: {seen}")

    # Accept the customer.
    accept = driver.find_element(
        By.XPATH,
        f"//tr[td[1][normalize-space()='{cfg['kind']}']]//form[.//input[@name='decision' and @value='accept']]",
    )
    accept.find_element(By.CSS_SELECTOR, "button").click()
    until_text("Accepted.", "the acceptance is confirmed")
    step("customer-accepted")
    seen = sep12(cfg["customer"])
    check(seen["status"] == "ACCEPTED", f"SEP-12 says ACCEPTED: {seen}")

    # Move the SEP-31 transaction to completed: only the allowed moves show.
    driver.get(admin + "/admin/console/transactions")
    step("transactions")
    driver.find_element(By.LINK_TEXT, cfg["transaction"]).click()
    until_text("Next steps", "the transaction's page")
    moves = sorted(b.text for b in driver.find_elements(By.XPATH, "//button[starts-with(., 'Move to ')]"))
    check(moves == ["Move to completed", "Move to error", "Move to pending_customer_info_update",
                    "Move to pending_external"], f"only the allowed moves: {moves}")
    step("transaction")
    driver.find_element(By.XPATH, "//button[.='Move to completed']").click()
    until_text("Moved to completed.", "the move is confirmed")
    check("None: completed is final" in driver.page_source, "no moves from completed")
    step("transaction-completed")

    # Each action in the audit log, under the person who took it.
    driver.get(admin + "/admin/console/audit?" + urllib.parse.urlencode({"actor": f"admin:{cfg['name']}"}))
    step("audit")
    rows = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "tbody tr")]
    for action in ["customer.field_status", "customer.accept", "sep31.status", "console.sign_in"]:
        check(any(action in r for r in rows), f"{action} in the audit log: {rows}")

    # The other pages render for people to look at.
    driver.get(admin + "/admin/console/accounts")
    step("accounts")
    driver.get(admin + "/admin/console/recovery")
    step("recovery")

    # Refused: a form without the session cookie, and one with a wrong
    # CSRF token; the pages carry the Content Security Policy.
    cookie = driver.get_cookie("mooring_console")["value"]
    decide = f"/admin/console/customers/{cfg['customer']}/decide"
    status, headers, _ = raw("POST", decide, {"decision": "reject", "reason": "x", "csrf": "x"})
    check(status == 303 and headers["Location"] == "/admin/", f"no cookie: sent to sign in ({status})")
    status, _, _ = raw("POST", decide, {"decision": "reject", "reason": "x", "csrf": "forged"}, cookie)
    check(status == 403, f"wrong CSRF token: 403 ({status})")
    check(sep12(cfg["customer"])["status"] == "ACCEPTED", "nothing changed")
    status, headers, body = raw("GET", "/admin/console/customers", cookie=cookie)
    csp = headers.get("Content-Security-Policy", "")
    check(status == 200 and "default-src 'none'" in csp and "script-src" not in csp, f"CSP: {csp}")

    # Nothing loaded from another origin.
    requests = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            requests.append(msg["params"]["request"]["url"])
    foreign = [u for u in requests if not (u.startswith(admin + "/") or u.startswith("data:") or u == "about:blank")]
    check(not foreign, f"requests to other origins: {foreign}")

    # Sign out.
    driver.find_element(By.CSS_SELECTOR, "form.signout button").click()
    until(lambda d: d.current_url.endswith("/admin/") and "Sign in" in d.page_source, "signed out")
    status, headers, _ = raw("GET", "/admin/console/customers", cookie=cookie)
    check(status == 303, f"the old session is over ({status})")

    print(json.dumps({"ok": True, "steps": steps, "requests": len(requests)}))
finally:
    driver.quit()
