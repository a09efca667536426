from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField


class SentimentCorrectionForm(FlaskForm):
    label = SelectField(
        choices=[SelectChoice("positive", "正面"), SelectChoice("negative", "负面")]
    )
