"""The shipping file upload form: reads the file into rows, or says why it cannot."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..shipping_csv import MAX_BYTES, ShippingFileError, read_shipping_file


class ShippingFileForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy(
            "Columns: order number, carrier (code or name), tracking number. Comma or semicolon separated; "
            "up to 5,000 rows and 1 MB."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than 1 MB; split it into smaller files."))
        try:
            self.cleaned_data["rows"] = read_shipping_file(upload.read())
        except ShippingFileError as error:
            raise forms.ValidationError(error.message) from error
        return upload
