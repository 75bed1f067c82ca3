"""Order imports: the upload form (file and format) and the form that maps unknown status texts."""

from pathlib import PurePath

from django import forms
from django.conf import settings
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from orders.models.imports import ImportFormat
from orders.states import OrderStatus

AUTO = "auto"


def max_upload_bytes() -> int:
    return settings.SHIPSHAPE["IMPORT_MAX_UPLOAD_BYTES"]


def max_upload_megabytes() -> str:
    """The upload limit in MB for the seller, formatted for their language ("50", "0.5", "1,024")."""
    megabytes = max_upload_bytes() / (1024 * 1024)
    return number_format(megabytes, decimal_pos=0 if megabytes.is_integer() else 1, force_grouping=True)


class ImportFileForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Orders file"),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".csv,.xlsx,text/csv,"
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
        error_messages={
            "empty": gettext_lazy("The file is empty. Export the orders again and upload that file."),
            "required": gettext_lazy("Choose the orders file to import."),
        },
    )
    format = forms.ChoiceField(
        label=gettext_lazy("Exported from"),
        choices=[
            (AUTO, gettext_lazy("Find out from the file")),
            (ImportFormat.SHOPIFY.value, gettext_lazy("Shopify")),
            (ImportFormat.TIKTOK.value, gettext_lazy("TikTok Shop")),
        ],
        initial=AUTO,
        help_text=gettext_lazy("Leave it to the file unless the file was edited and its header changed."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = _("CSV or XLSX, up to %(limit)s MB.") % {
            "limit": max_upload_megabytes()
        }

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > max_upload_bytes():
            raise forms.ValidationError(
                _(
                    "The file is larger than %(limit)s MB, the largest file this shop can import. "
                    "Export fewer orders at a time (a shorter date range) and import each file."
                )
                % {"limit": max_upload_megabytes()}
            )
        return upload

    @property
    def original_name(self) -> str:
        return PurePath(self.cleaned_data["file"].name).name[:255]


class StatusMappingForm(forms.Form):
    """One select per status text of the file that the importer does not know; the seller picks what each
    one means in Shipshape. Fields are numbered in the order of ``texts`` (the same list on GET and POST)."""

    def __init__(self, *args, texts: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.texts = texts
        choices = [("", _("Choose a status…")), *OrderStatus.choices]
        for index, text in enumerate(texts):
            self.fields[f"status_{index}"] = forms.ChoiceField(
                label=text,
                choices=choices,
                error_messages={"required": _("Choose what “%(text)s” means.") % {"text": text}},
            )

    def mappings(self) -> list[tuple[str, str]]:
        """(status text, Shipshape status) pairs, once the form is valid."""
        return [(text, self.cleaned_data[f"status_{index}"]) for index, text in enumerate(self.texts)]
