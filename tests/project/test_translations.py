"""The es, fr, de and pt_BR catalogues: complete, valid, compiled, and used in the buyer's emails."""

import ast
import gettext
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCALE_DIR = ROOT / "locale"

# Catalogue folder -> (Django language code, Plural-Forms header).
LANGUAGES = {
    "es": ("es", "nplurals=2; plural=(n != 1);"),
    "fr": ("fr", "nplurals=2; plural=(n > 1);"),
    "de": ("de", "nplurals=2; plural=(n != 1);"),
    # As in GNU gettext and Django's own pt_BR catalogue: 0 and 1 are singular in Brazilian Portuguese.
    "pt_BR": ("pt-br", "nplurals=2; plural=(n > 1);"),
}
PO_FILES = {name: LOCALE_DIR / name / "LC_MESSAGES" / "django.po" for name in LANGUAGES}


# --- A small .po reader (the project does not depend on polib) -------------------------------------------


@dataclass
class Entry:
    line: int
    flags: set[str] = field(default_factory=set)
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)  # msgstr is stored as {0: ...}
    obsolete: bool = False

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None

    @property
    def translated(self) -> bool:
        forms = 2 if self.msgid_plural is not None else 1
        return len(self.msgstr) >= forms and all(self.msgstr.get(i) for i in range(forms))


KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")\s*$')


def _unquote(text: str) -> str:
    return ast.literal_eval(text)


def parse_po(path: Path) -> list[Entry]:
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int | None] | None = None

    def finish():
        nonlocal current, target
        if current is not None and (current.msgid or current.msgstr or current.msgctxt is not None):
            entries.append(current)
        current, target = None, None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
            continue
        if current is None:
            current = Entry(line=number)
        if line.startswith("#~"):
            current.obsolete = True
            continue
        if line.startswith("#,"):
            current.flags |= {flag.strip() for flag in line[2:].split(",") if flag.strip()}
            continue
        if line.startswith("#"):
            continue
        if line.startswith('"'):
            assert target is not None, f"{path}:{number}: a string continues nothing"
            _append(current, target, _unquote(line))
            continue
        match = KEYWORD.match(line)
        assert match, f"{path}:{number}: cannot read {raw!r}"
        keyword, index, text = match.groups()
        if keyword.startswith("msgid") and current.msgstr:  # a new entry without a blank line before it
            finish()
            current = Entry(line=number)
        if keyword.startswith("msgstr"):
            target = ("msgstr", int(index) if index is not None else 0)
        else:
            target = (keyword, None)
        _append(current, target, _unquote(text), start=True)
    finish()
    return entries


def _append(entry: Entry, target: tuple[str, int | None], text: str, start: bool = False) -> None:
    name, index = target
    if name == "msgstr":
        entry.msgstr[index] = ("" if start else entry.msgstr.get(index, "")) + text
    else:
        setattr(entry, name, ("" if start else getattr(entry, name) or "") + text)


def header(entries: list[Entry]) -> dict[str, str]:
    head = next(e for e in entries if e.is_header)
    fields = {}
    for line in head.msgstr.get(0, "").splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            fields[key.strip()] = value.strip()
    return fields


def require_msgfmt() -> str:
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.fail(
            "msgfmt (GNU gettext) is not installed; install the 'gettext' package to check catalogues."
        )
    return msgfmt


# --- The catalogues ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", LANGUAGES)
def test_catalogue_is_complete_and_not_fuzzy(name):
    path = PO_FILES[name]
    entries = [e for e in parse_po(path) if not e.obsolete]
    messages = [e for e in entries if not e.is_header]
    assert len(messages) > 400, f"{path} holds only {len(messages)} messages"

    untranslated = [f"line {e.line}: {e.msgid!r}" for e in messages if not e.translated]
    fuzzy = [f"line {e.line}: {e.msgid!r}" for e in entries if "fuzzy" in e.flags]
    assert not untranslated, f"{path}: untranslated entries:\n" + "\n".join(untranslated)
    assert not fuzzy, f"{path}: fuzzy entries:\n" + "\n".join(fuzzy)

    fields = header(entries)
    plural_forms = LANGUAGES[name][1]
    assert fields.get("Language") == name
    assert fields.get("Plural-Forms") == plural_forms
    assert fields.get("Content-Type") == "text/plain; charset=UTF-8"


PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*[\d.]*[a-z]|%%|\{\{[^}]*\}\}|\{\w+\}|</?[a-z]+>")


@pytest.mark.parametrize("name", LANGUAGES)
def test_translations_keep_placeholders_and_tags(name):
    """Also for strings xgettext did not flag as python-format (e.g. HTML tags, {number}, {{ var }})."""
    problems = []
    for entry in parse_po(PO_FILES[name]):
        if entry.is_header or entry.obsolete:
            continue
        sources = [entry.msgid] + ([entry.msgid_plural] if entry.msgid_plural is not None else [])
        for index, text in sorted(entry.msgstr.items()):
            source = sources[min(index, len(sources) - 1)]
            if sorted(PLACEHOLDER.findall(source)) != sorted(PLACEHOLDER.findall(text)):
                problems.append(f"line {entry.line}: {source!r} -> {text!r}")
    assert not problems, "placeholders or tags differ:\n" + "\n".join(problems)


@pytest.mark.parametrize("name", LANGUAGES)
def test_msgfmt_check_format_passes(name):
    msgfmt = require_msgfmt()
    result = subprocess.run(
        [msgfmt, "--check-format", "-o", "/dev/null", str(PO_FILES[name])],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", f"msgfmt warnings for {PO_FILES[name]}:\n{result.stderr}"


@pytest.mark.parametrize("name", LANGUAGES)
def test_compiled_catalogue_is_up_to_date(name, tmp_path):
    msgfmt = require_msgfmt()
    po = PO_FILES[name]
    committed = po.with_suffix(".mo")
    assert committed.exists(), f"{committed} is missing: run manage.py compilemessages"

    fresh = tmp_path / "django.mo"
    subprocess.run([msgfmt, "-o", str(fresh), str(po)], check=True, capture_output=True, timeout=60)
    with fresh.open("rb") as f:
        expected = gettext.GNUTranslations(f)
    with committed.open("rb") as f:
        actual = gettext.GNUTranslations(f)

    stale = {
        key
        for key in expected._catalog.keys() | actual._catalog.keys()
        if expected._catalog.get(key) != actual._catalog.get(key)
    }
    assert not stale, (
        f"{committed} does not match {po}; run manage.py compilemessages. "
        f"Differs on: {sorted(map(str, stale))[:10]}"
    )


# --- The catalogues in use: an order confirmation in the buyer's language ----------------------------------

# What each language's confirmation must say, and how babel writes the order total (46.50 -> "46,50").
CONFIRMATIONS = {
    "es": {
        "subject": "Tu pedido {number} está confirmado",
        "text": "Hemos recibido tu pedido {number}.",
        "html": "Hemos recibido tu pedido <strong>{number}</strong>.",
        "total": "Total: {amount} US$",
        "follow": "Sigue tu pedido:",
        "thanks": "Gracias por comprar en {shop}.",
    },
    "fr": {
        "subject": "Votre commande {number} est confirmée",
        "text": "Nous avons bien reçu votre commande {number}.",
        "html": "Nous avons bien reçu votre commande <strong>{number}</strong>.",
        "total": "Total: {amount} $US",
        "follow": "Suivez votre commande :",
        "thanks": "Merci pour votre achat chez {shop}.",
    },
    "de": {
        "subject": "Ihre Bestellung {number} ist bestätigt",
        "text": "Wir haben Ihre Bestellung {number} erhalten.",
        "html": "Wir haben Ihre Bestellung <strong>{number}</strong> erhalten.",
        "total": "Summe: {amount} $",
        "follow": "Verfolgen Sie Ihre Bestellung:",
        "thanks": "Vielen Dank für Ihren Einkauf bei {shop}.",
    },
    "pt-br": {
        "subject": "Seu pedido {number} está confirmado",
        "text": "Recebemos seu pedido {number}.",
        "html": "Recebemos seu pedido <strong>{number}</strong>.",
        "total": "Total: US$ {amount}",
        "follow": "Acompanhe seu pedido:",
        "thanks": "Obrigado por comprar em {shop}.",
    },
}
ENGLISH = ["We have your order", "Follow your order", "Thank you for shopping", "is confirmed"]


def plain_spaces(text: str) -> str:
    """babel separates amount and symbol with a no-break space (a narrow one in some locales)."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


@pytest.mark.django_db
@pytest.mark.parametrize("language", CONFIRMATIONS)
def test_order_confirmation_email_is_translated(language):
    from django.utils import translation

    from orders.notifications.email import render_message
    from tests.factories import ShopFactory, place

    shop = ShopFactory(name="Casa Nube", currency="USD")
    order = place(shop, language=language)
    assert order.language == language

    subject, text, html = render_message(order, "order_confirmed")

    expected = CONFIRMATIONS[language]
    amount = f"{order.total:.2f}".replace(".", ",")  # every one of these languages writes a decimal comma
    fill = {"number": order.number, "shop": shop.name, "amount": amount}

    # The subject is the catalogue's translation of the English subject, with the number filled in.
    with translation.override(language):
        catalogue_subject = translation.gettext("Your order %(number)s is confirmed")
    catalogue_subject %= {"number": order.number}
    assert subject == f"{shop.name}: {catalogue_subject}"
    assert subject == f"{shop.name}: " + expected["subject"].format(**fill)

    text, html = plain_spaces(text), plain_spaces(html)
    assert expected["text"].format(**fill) in text
    assert expected["html"].format(**fill) in html
    assert expected["total"].format(**fill) in text
    assert expected["follow"] in text
    assert expected["thanks"].format(**fill) in text
    for english in ENGLISH:
        assert english not in subject
        assert english not in text
        assert english not in html
