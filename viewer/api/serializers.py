"""Input and output shapes of the viewer API. Request bodies are wrapped in {"request": {...}}
as the design shows; a missing wrapper or field is MANDATORY_PARAMETER_MISSING."""

from __future__ import annotations

import datetime as dt

from rest_framework import serializers

from lms.api.fields import StringIdField, TextField, UUIDStringField
from tracking.assessments import QuestionEvent, SubmittedAttempt

MAX_CONTENT_IDS = 100
MAX_ATTEMPTS_PER_SUBMIT = 50
MAX_EVENTS_PER_ATTEMPT = 1000
# 9999-12-31T23:59:59.999Z: later epoch milliseconds are not datetimes.
MAX_EPOCH_MS = 253402300799999


_WRAPPER_ERRORS = {
    # Formatted by DRF with str.format, hence the doubled braces.
    "required": 'Wrap the body\'s fields in "request": {{"request": {{...}}}}.',
    "null": 'Send the fields inside "request" as an object: {{"request": {{...}}}}.',
}


def _wrapped(name: str, inner: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """A serializer for {"request": inner}, named for the OpenAPI schema."""
    return type(name, (serializers.Serializer,), {"request": inner(error_messages=_WRAPPER_ERRORS)})


class ViewContentSerializer(serializers.Serializer):
    userId = UUIDStringField(required=False, allow_null=True, help_text="Defaults to the caller.")
    collectionId = UUIDStringField(
        required=False, allow_null=True, help_text="The course id; defaults to contentId (standalone content)."
    )
    batchId = UUIDStringField(required=False, allow_null=True, help_text="Defaults to collectionId.")
    contentId = UUIDStringField(help_text="The lesson (or standalone content) id.")


class ViewProgressSerializer(ViewContentSerializer):
    progress = serializers.IntegerField(min_value=0, max_value=100, help_text="Percent viewed, 0–100.")


ViewStartInput = _wrapped("ViewStartInput", ViewContentSerializer)
ViewEndInput = _wrapped("ViewEndInput", ViewContentSerializer)
ViewUpdateInput = _wrapped("ViewUpdateInput", ViewProgressSerializer)


# Per question. An attempt holds at most MAX_EVENTS_PER_ATTEMPT questions, so its sums stay far
# below the float range (a sum of 1e308 scores is inf, which no JSON response can carry).
MAX_QUESTION_SCORE = 1_000_000


def question_score_field(**kwargs) -> serializers.FloatField:
    """A question's score or max score: 0 to MAX_QUESTION_SCORE (DRF refuses NaN and infinity)."""
    return serializers.FloatField(min_value=0, max_value=MAX_QUESTION_SCORE, **kwargs)


class AssessItemSerializer(serializers.Serializer):
    id = TextField(max_length=255, help_text="The question id.")
    maxscore = question_score_field()


class AssessEdataSerializer(serializers.Serializer):
    item = AssessItemSerializer()
    score = question_score_field()


class AssessEventSerializer(serializers.Serializer):
    """A Sunbird ASSESS event, or the flat {questionId, score, max_score} form."""

    eid = TextField(required=False)
    ets = serializers.IntegerField(required=False, min_value=0, max_value=MAX_EPOCH_MS, help_text="Epoch ms.")
    edata = AssessEdataSerializer(required=False)
    questionId = TextField(required=False, max_length=255)
    score = question_score_field(required=False)
    max_score = question_score_field(required=False)

    def validate(self, attrs):
        if "eid" in attrs and attrs["eid"] != "ASSESS":
            raise serializers.ValidationError({"eid": ['Only "ASSESS" events are accepted.']})
        if "edata" in attrs:
            edata = attrs["edata"]
            question_id, score, max_score = edata["item"]["id"], edata["score"], edata["item"]["maxscore"]
        else:
            missing = [name for name in ("questionId", "score", "max_score") if name not in attrs]
            if missing:
                raise serializers.ValidationError(
                    {name: ["Send edata.item/edata.score (ASSESS event) or questionId, score and max_score."]
                     for name in missing},
                    code="required",
                )
            question_id, score, max_score = attrs["questionId"], attrs["score"], attrs["max_score"]
        if score > max_score:
            raise serializers.ValidationError({"score": [f"The score {score:g} exceeds the question's maxscore {max_score:g}."]})
        return {"question_id": question_id, "score": score, "max_score": max_score, "ets": attrs.get("ets")}


class AssessmentAttemptSerializer(serializers.Serializer):
    attemptId = StringIdField(max_length=255, help_text="The client's id of the attempt; a resubmission repeats it.")
    assessmentTs = serializers.IntegerField(min_value=0, max_value=MAX_EPOCH_MS, help_text="Epoch milliseconds.")
    events = AssessEventSerializer(many=True, allow_empty=False, max_length=MAX_EVENTS_PER_ATTEMPT)

    def validate(self, attrs) -> SubmittedAttempt:
        ts_ms = attrs["assessmentTs"]
        return SubmittedAttempt(
            attempt_id=attrs["attemptId"],
            assessment_ts=dt.datetime.fromtimestamp(ts_ms / 1000, tz=dt.UTC),
            events=[
                QuestionEvent(
                    question_id=event["question_id"], score=event["score"], max_score=event["max_score"],
                    ets=ts_ms if event["ets"] is None else event["ets"],
                )
                for event in attrs["events"]
            ],
        )


class AssessmentSubmitSerializer(ViewContentSerializer):
    assessments = AssessmentAttemptSerializer(many=True, allow_empty=False, max_length=MAX_ATTEMPTS_PER_SUBMIT)


AssessmentSubmitInput = _wrapped("AssessmentSubmitInput", AssessmentSubmitSerializer)


class ViewReadSerializer(serializers.Serializer):
    userId = UUIDStringField(required=False, allow_null=True, help_text="Defaults to the caller.")
    contentId = serializers.ListField(
        child=UUIDStringField(), allow_empty=False, max_length=MAX_CONTENT_IDS,
        help_text=f"The contents to read, at most {MAX_CONTENT_IDS}.",
    )
    collectionId = UUIDStringField(
        required=False, allow_null=True, help_text="A context to read; without it, all of the user's contexts."
    )
    batchId = UUIDStringField(required=False, allow_null=True, help_text="Defaults to collectionId.")

    def validate(self, attrs):
        if attrs.get("batchId") and not attrs.get("collectionId"):
            raise serializers.ValidationError(
                {"collectionId": ["Send collectionId with batchId (a batch belongs to a collection)."]}
            )
        return attrs


ViewReadInput = _wrapped("ViewReadInput", ViewReadSerializer)


class SummaryReadSerializer(serializers.Serializer):
    userId = UUIDStringField(required=False, allow_null=True, help_text="Defaults to the caller.")
    collectionId = UUIDStringField(help_text="The course id.")
    batchId = UUIDStringField(required=False, allow_null=True, help_text="Defaults to collectionId.")


SummaryReadInput = _wrapped("SummaryReadInput", SummaryReadSerializer)


class SummaryDeleteSerializer(serializers.Serializer):
    collectionId = UUIDStringField(help_text="The course id of the enrolment to delete.")
    batchId = UUIDStringField(required=False, allow_null=True, help_text="Defaults to collectionId.")


SummaryDeleteInput = _wrapped("SummaryDeleteInput", SummaryDeleteSerializer)


class ProgramEnrolSerializer(serializers.Serializer):
    programId = StringIdField(max_length=255, help_text="The program's id or identifier.")
    userId = UUIDStringField(required=False, allow_null=True, help_text="Defaults to the caller.")


ProgramEnrolInput = _wrapped("ProgramEnrolInput", ProgramEnrolSerializer)


class DownloadQuerySerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=["csv", "json"], default="csv", required=False)


# --- Output shapes (documentation of `result`) -------------------------------------------


class ContentProgressSerializer(serializers.Serializer):
    identifier = serializers.UUIDField()
    contentId = serializers.UUIDField()
    progress = serializers.IntegerField()
    status = serializers.IntegerField(help_text="0 not started, 1 in progress, 2 completed.")
    score = serializers.FloatField(allow_null=True, help_text="Best attempt's score.")
    max_score = serializers.FloatField(allow_null=True, help_text="The best attempt's max score.")
    viewCount = serializers.IntegerField()
    lastAccessedTime = serializers.IntegerField(allow_null=True, help_text="Epoch milliseconds.")


class ViewReadResultSerializer(serializers.Serializer):
    userId = serializers.UUIDField()
    collectionId = serializers.UUIDField(allow_null=True)
    batchId = serializers.UUIDField(allow_null=True)
    contents = ContentProgressSerializer(many=True)


class SummaryCollectionSerializer(serializers.Serializer):
    identifier = serializers.UUIDField()
    name = TextField()
    logo = serializers.URLField(allow_null=True)
    leafNodesCount = serializers.IntegerField()
    description = TextField()


class IssuedCertificateSerializer(serializers.Serializer):
    name = TextField()
    id = serializers.UUIDField()
    token = TextField()
    lastIssuedOn = serializers.DateTimeField()
    verifyUrl = serializers.URLField(help_text="The public verification page; `?format=pdf` prints the certificate.")


class ScoreSerializer(serializers.Serializer):
    score = serializers.FloatField()
    max_score = serializers.FloatField()


class EnrolmentSummarySerializer(serializers.Serializer):
    userId = serializers.UUIDField()
    collectionId = serializers.UUIDField()
    batchId = serializers.UUIDField()
    enrolledDate = serializers.IntegerField(help_text="Epoch milliseconds.")
    active = serializers.BooleanField()
    # The three heavy parts are left out when `fields` on the summary list does not name them.
    contentStatus = serializers.DictField(
        child=serializers.IntegerField(), help_text="{contentId: 0|1|2}", required=False
    )
    assessmentStatus = serializers.DictField(
        child=ScoreSerializer(), help_text="{contentId: best score}", required=False
    )
    collection = SummaryCollectionSerializer()
    issuedCertificates = IssuedCertificateSerializer(many=True, required=False)
    completedOn = serializers.IntegerField(allow_null=True, help_text="Epoch milliseconds; set once.")
    lastAccessedOn = serializers.IntegerField(allow_null=True, help_text="Epoch milliseconds.")
    progress = serializers.IntegerField(help_text="Percent of the required lessons completed.")
    status = serializers.IntegerField(help_text="0 not started, 1 in progress, 2 completed.")


class SummaryListResultSerializer(serializers.Serializer):
    summary = EnrolmentSummarySerializer(many=True)


class DownloadResultSerializer(serializers.Serializer):
    url = serializers.URLField(
        help_text="The link is the credential: it serves the file with no headers to whoever holds it, for an hour."
    )


class ProgramEnrolmentItemSerializer(serializers.Serializer):
    collectionId = serializers.UUIDField()
    batchId = serializers.UUIDField()
    enrollmentId = serializers.UUIDField()
    created = serializers.BooleanField()
    active = serializers.BooleanField()


class ProgramEnrolResultSerializer(serializers.Serializer):
    programId = serializers.UUIDField()
    identifier = TextField()
    userId = serializers.UUIDField()
    enrolments = ProgramEnrolmentItemSerializer(many=True)
