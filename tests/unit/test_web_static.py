"""The web loads nothing from another host: the htmx it serves is the file its README names
(version and sha256), and no template or stylesheet points at a CDN."""

from __future__ import annotations

import hashlib
import re

import httpx

from services.web.app import STATIC, create_web_app
from services.web.context import TEMPLATES
from shared.auth.settings import verifier_from_env
from tests.web_login import web_config

VENDOR = STATIC / "vendor"


def test_each_vendored_file_is_the_one_its_readme_names() -> None:
    rows = re.findall(r"^\| `([^`]+)` \|.*\| `([0-9a-f]{64})` \|$", (VENDOR / "README.md").read_text(), re.M)
    assert rows, "the README lists no file"
    for name, sha256 in rows:
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == sha256, name
    listed = {name for name, _ in rows}
    shipped = {p.name for p in VENDOR.iterdir() if p.suffix == ".js"}
    assert shipped == listed, "a script in static/vendor/ without its row in the README (or the reverse)"


def test_pages_load_only_the_webs_own_files() -> None:
    base = (TEMPLATES / "base.html").read_text()
    scripts = re.findall(r'<script src="([^"]+)"', base)
    assert "/static/vendor/htmx-2.0.11.min.js" in scripts
    for path in [*TEMPLATES.glob("*.html"), *STATIC.glob("*.css"), *STATIC.glob("*.js")]:
        text = path.read_text()
        loaded = re.findall(r"""(?:src|href)\s*=\s*["']([^"'{]+)["']|url\(\s*["']?([^"')]+)""", text)
        for address in (a or b for a, b in loaded):
            assert not re.match(r"^(https?:)?//", address), (path.name, address)


async def test_the_web_serves_htmx_itself() -> None:
    app = create_web_app(web_config(), verifier_from_env())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://web") as web:
        served = await web.get("/static/vendor/htmx-2.0.11.min.js")
    assert served.status_code == 200 and "javascript" in served.headers["content-type"]
    assert served.content == (VENDOR / "htmx-2.0.11.min.js").read_bytes()
