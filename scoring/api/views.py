"""Viewsets of the CRM sync API: accounts and outcomes in, scores out, webhooks.

Writes go through scoring.ingest and scoring.webhooks, reads through
scoring.selectors, the same calls the pages make.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, cast

from django.db.models import QuerySet
from django.utils.http import urlencode
from drf_orjson_renderer.renderers import ORJSONRenderer
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from icpsite.api.base import ApiViewMixin, QuerySerializers
from icpsite.api.errors import ErrorDetailSerializer, answers
from icpsite.api.params import ANY_SEGMENT, ANY_TEXT, row_in_path, slug_in_path, text_in_path
from icpsite.api.parsers import MAX_BODY_BYTES, PayloadTooLargeError
from profiles.models import User
from scoring.api import serializers as s
from scoring.explain import StoredReasons, criterion_outcomes
from scoring.filters import ScoreFilter
from scoring.ingest.importer import ImportFileError, ImportReport, accounts_import
from scoring.models import Account, ScoringRun, WebhookSubscription
from scoring.policies import can_manage_webhooks
from scoring.rulesets import ruleset_for
from scoring.selectors import (
    ProfileScore,
    account_explanations,
    account_get_by_external_id,
    account_history,
    changes_cursor,
    current_run,
    run_list,
    score_feed,
    score_profile_get,
    webhook_delivery_list,
    webhook_subscription_list,
)
from scoring.webhooks import (
    webhook_subscription_create,
    webhook_subscription_delete,
    webhook_subscription_rotate_secret,
    webhook_subscription_update,
)

PAGE_SIZE = 500
MAX_PAGE_SIZE = 5000


# --- Schema pieces ----------------------------------------------------------

# Elsewhere in the API a 409 is a stale revision; here two requests wrote the same rows.
CONFLICT = OpenApiResponse(
    ErrorDetailSerializer,
    description="Another request wrote the same accounts at the same moment; nothing was "
    "stored. Send the request again.",
)


ROW_EXAMPLE = {
    "external_id": "0015g00000XyZ12",
    "name": "Acme Analytics",
    "domain": "acme.example",
    "employees": 450,
    "annual_revenue": 52000000,
    "industry": "SaaS",
    "country": "DE",
    "tech_stack": ["salesforce", "slack"],
    "has_revops": True,
    "traits": {"seats": 120},
}


# --- Shared behaviour -------------------------------------------------------


class SyncViewSet(ApiViewMixin, GenericViewSet[Any]):
    @property
    def actor(self) -> User:
        return cast(User, self.request.user)


def _external_id(row: Mapping[str, Any]) -> str:
    value = row.get("external_id")
    return value.strip()[:64] if isinstance(value, str) else ""


def _results(rows: list[dict[str, Any]], report: ImportReport) -> dict[str, Any]:
    errors: dict[int, dict[str, list[str]]] = {}
    for error in report.errors:
        errors.setdefault(error.row, {}).setdefault(error.field, []).append(error.message)
    warnings: dict[int, list[dict[str, str]]] = {}
    for warning in report.warnings:
        warnings.setdefault(warning.row, []).append(
            {"field": warning.field, "message": warning.message}
        )
    results = []
    for index, row in enumerate(rows):
        result: dict[str, Any] = {"index": index, "external_id": _external_id(row)}
        if index in report.outcomes:
            result["status"] = report.outcomes[index]
        elif index in errors:
            result["status"] = "invalid"
            result["errors"] = errors[index]
        else:
            result["status"] = "not_written"
        if index in warnings:
            result["warnings"] = warnings[index]
        results.append(result)
    return {
        "written": report.written,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "invalid": len(errors),
        "results": results,
    }


# --- Accounts in ------------------------------------------------------------


def _profile_score(explained: ProfileScore) -> dict[str, Any]:
    """One profile's standing with the math behind it."""
    standing = explained.standing
    result = explained.result
    return {
        "profile": explained.profile.slug,
        "version": explained.run.version.number,
        "score": standing.score,
        "tier": standing.tier,
        "effective_tier": standing.effective_tier,
        "overridden": standing.overridden,
        "scored_at": explained.run.finished_at,
        "rescore_pending": explained.rescore_pending,
        "disqualified_by": [rule.label for rule in result.disqualified_by],
        "criteria": criterion_outcomes(result),
    }


@extend_schema(tags=["accounts"])
class AccountSyncViewSet(SyncViewSet):
    """Accounts and their outcomes, pushed by a CRM and matched by external_id."""

    serializer_class = s.BulkUpsertSerializer
    queryset = Account.objects.none()
    lookup_field = "external_id"
    # A CRM's id is any text, a slash included (sent as %2F, which arrives decoded).
    lookup_value_regex = ANY_TEXT

    @extend_schema(
        summary="An account with its scores and the math behind them",
        description="The account as stored, and for each profile with a current run: the "
        "stored score and tier, the effective tier (an accepted override, else the tier), "
        "and each criterion of the version with its outcome (matched, not matched, or "
        "unknown when the account lacks the data) and the points it gave; then the "
        "account's score in every retained run, newest first.",
        parameters=[OpenApiParameter("external_id", OpenApiTypes.STR, OpenApiParameter.PATH)],
        responses=answers(s.AccountDetailSerializer, 404),
    )
    def retrieve(self, request: Request, external_id: str) -> Response:
        external_id = text_in_path(external_id, "account")
        account = account_get_by_external_id(external_id=external_id)
        if account is None:
            raise exceptions.NotFound(f"No account {external_id!r}.")
        fields = s.AccountDetailSerializer().fields.keys()
        body: dict[str, Any] = {
            str(name): getattr(account, str(name))
            for name in fields
            if name not in ("scores", "history")
        }
        body["scores"] = [_profile_score(x) for x in account_explanations(account=account)]
        body["history"] = [
            {
                "profile": row.run.profile.slug,
                "version": row.run.version.number,
                "scored_at": row.run.finished_at,
                "score": row.score,
                "tier": row.tier,
            }
            for row in account_history(account=account)
        ]
        return Response(s.AccountDetailSerializer(body).data)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            raise PayloadTooLargeError

    def _import(
        self, envelope: type[serializers.Serializer[Any]], key: str, **options: Any
    ) -> Response:
        if not isinstance(self.request.data, dict):
            raise exceptions.ValidationError(
                {"non_field_errors": ['Send a JSON object, e.g. {"' + key + '": [...]}.']}
            )
        data = envelope(data=self.request.data)
        data.is_valid(raise_exception=True)
        rows = data.validated_data[key]
        try:
            report = accounts_import(
                actor=self.actor,
                rows=rows,
                mode=data.validated_data["mode"],
                first_row=0,
                strict=True,
                skip_blank=False,
                **options,
            )
        except ImportFileError as exc:
            return Response({"detail": " ".join(exc.problems)}, status=status.HTTP_409_CONFLICT)
        stored = report.written and (report.outcomes or not report.errors)
        code = status.HTTP_200_OK if stored else status.HTTP_400_BAD_REQUEST
        return Response(_results(rows, report), status=code)

    @extend_schema(
        summary="Create or update up to 1,000 accounts",
        description="Matched by `external_id`; each row is validated like a CSV import row "
        "(a field left out keeps its value, null clears it, nothing is coerced: a number in "
        "quotes is an error). An update may send any subset of fields, `name` included or "
        "not; a new account needs its `name`. By default (`all_or_nothing`) one bad row means "
        "nothing is stored and the answer is 400 with every row's result; `valid_only` stores "
        "the good rows and reports the bad. An external_id may appear once per request. "
        "Repeating a "
        "request changes nothing (the rows come back `unchanged`). New and changed accounts "
        "are scored against every profile's current version before the answer, so a pull "
        "right after sees their tiers. Category values (industry, country, funding_stage, "
        "crm, text traits) are stored as sent and compared ignoring case and spacing; a row "
        "whose value no criterion of a live or draft version names (so it matches none) "
        "comes back with `warnings` naming the field, and is stored all the same.",
        request=s.BULK_UPSERT_REQUEST,
        responses=answers(s.BulkResultSerializer, 400, 403, 409, 413, 415, own={409: CONFLICT}),
        examples=[
            OpenApiExample(
                "Two accounts",
                request_only=True,
                value={
                    "accounts": [ROW_EXAMPLE, {"external_id": "0015g00000Q", "name": "Beta GmbH"}]
                },
            ),
            OpenApiExample(
                "Stored",
                response_only=True,
                status_codes=["200"],
                value={
                    "written": True,
                    "created": 1,
                    "updated": 0,
                    "unchanged": 1,
                    "invalid": 0,
                    "results": [
                        {"index": 0, "external_id": "0015g00000XyZ12", "status": "created"},
                        {"index": 1, "external_id": "0015g00000Q", "status": "unchanged"},
                    ],
                },
            ),
            OpenApiExample(
                "Stored with a warning",
                response_only=True,
                status_codes=["200"],
                value={
                    "written": True,
                    "created": 1,
                    "updated": 0,
                    "unchanged": 0,
                    "invalid": 0,
                    "results": [
                        {
                            "index": 0,
                            "external_id": "0015g00000XyZ12",
                            "status": "created",
                            "warnings": [
                                {
                                    "field": "industry",
                                    "message": "'Saas Co' is a value no live or draft "
                                    "criterion names, so it matches none of them (the criteria "
                                    "on Industry name SaaS, Software, Fintech); it is stored "
                                    "as sent.",
                                }
                            ],
                        }
                    ],
                },
            ),
            OpenApiExample(
                "A bad row, nothing stored",
                response_only=True,
                status_codes=["400"],
                value={
                    "written": False,
                    "created": 0,
                    "updated": 0,
                    "unchanged": 0,
                    "invalid": 1,
                    "results": [
                        {
                            "index": 0,
                            "external_id": "0015g00000XyZ12",
                            "status": "invalid",
                            "errors": {
                                "employees": ["'450' is a string; send a whole number or null"]
                            },
                        },
                        {"index": 1, "external_id": "0015g00000Q", "status": "not_written"},
                    ],
                },
            ),
        ],
    )
    @action(detail=False, methods=["post"], url_path="bulk-upsert")
    def bulk_upsert(self, request: Request) -> Response:
        return self._import(s.BulkUpsertSerializer, "accounts")

    @extend_schema(
        summary="Record deal outcomes and churn for up to 1,000 accounts",
        description="Rows name an account already sent (by `external_id`) and only outcome "
        "fields: lifecycle stage, opportunity opened, deal status, closed date, amount, "
        "churned. The same rules as bulk-upsert: all or nothing by default, per-row "
        "results, repeats change nothing. An unknown external_id is that row's error.",
        request=s.OUTCOMES_REQUEST,
        responses=answers(s.BulkResultSerializer, 400, 403, 409, 413, 415, own={409: CONFLICT}),
        examples=[
            OpenApiExample(
                "A won deal and a churn",
                request_only=True,
                value={
                    "outcomes": [
                        {
                            "external_id": "0015g00000XyZ12",
                            "deal_status": "won",
                            "deal_closed_at": "2025-05-31T09:30:00Z",
                            "deal_amount": "48000.00",
                        },
                        {"external_id": "0015g00000Q", "churned_at": "2025-06-01"},
                    ]
                },
            )
        ],
    )
    @action(detail=False, methods=["post"])
    def outcomes(self, request: Request) -> Response:
        return self._import(s.OutcomesSerializer, "outcomes", outcomes_only=True)


# --- Scores out -------------------------------------------------------------


PROFILE_PARAM = OpenApiParameter(
    "profile", OpenApiTypes.STR, required=True, description="The profile's slug."
)
PAGE_SIZE_PARAM = OpenApiParameter(
    "page_size",
    OpenApiTypes.INT,
    description=f"Rows per page, 1 to {MAX_PAGE_SIZE} (default {PAGE_SIZE}).",
)


FEED_POSITION = "Set by `next`; part of a paged sync's position, not for building by hand."
SINCE_PARAM = OpenApiParameter(
    "changed_since",
    OpenApiTypes.INT,
    description="Only accounts whose score, tier, matched criteria, effective tier or "
    "override changed after this cursor (a `cursor` from an earlier response).",
)
UNTIL_PARAM = OpenApiParameter("until", OpenApiTypes.INT, description=FEED_POSITION)
AFTER_PARAM = OpenApiParameter("after", OpenApiTypes.INT, description=FEED_POSITION)


class FeedQuerySerializer(serializers.Serializer[Any]):
    profile = serializers.SlugField(max_length=200)
    page_size = serializers.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE, default=PAGE_SIZE)
    changed_since = serializers.IntegerField(min_value=0, max_value=2**62, default=0)
    until = serializers.IntegerField(min_value=0, max_value=2**62, required=False)
    after = serializers.IntegerField(min_value=0, max_value=2**62, default=0)


@extend_schema_view(
    list=extend_schema(
        summary="Scores and tiers, changed since a cursor",
        description="Every account scored under the profile, in a stable order, with its "
        "score, tier, effective tier (an accepted override, else the tier), the version "
        "that scored it and the top reasons. Page with `next`. Keep the last page's "
        "`cursor`: `changed_since=<cursor>` later returns exactly the accounts whose score, "
        "tier, matched criteria, effective tier or override changed since (rescoring runs, "
        "ingest and overrides alike), each once. A sync is pinned to the moment its first "
        "page was read: an account that changes while later pages are read comes in the "
        "next sync, so pages stay consistent while the base changes.",
        parameters=[PROFILE_PARAM, PAGE_SIZE_PARAM, SINCE_PARAM, UNTIL_PARAM, AFTER_PARAM],
        responses=answers(s.ScorePageSerializer, 400),
        tags=["scores"],
    )
)
class ScoreViewSet(SyncViewSet):
    # orjson: JSON encoding was a sixth of a 5,000-row page with the standard
    # renderer; the browsable page stays for people.
    renderer_classes = (ORJSONRenderer, BrowsableAPIRenderer)
    serializer_class = s.ScoreRowSerializer
    filterset_class = ScoreFilter
    queryset = Account.objects.none()
    query_serializers: ClassVar[QuerySerializers] = {"list": FeedQuerySerializer}

    def list(self, request: Request) -> Response:
        query = self.query
        slug = query["profile"]
        profile = score_profile_get(slug=slug)
        if profile is None:
            raise exceptions.ValidationError({"profile": [f"No profile {slug!r}."]})
        # The counter before the run: a flip in between then falls after `until`.
        until = query.get("until", changes_cursor(profile_id=profile.pk))
        run = current_run(profile=profile)
        size = query["page_size"]
        feed = score_feed(
            run=run,
            since=query["changed_since"],
            until=until,
            after=query["after"],
        )
        feed = self.filter_queryset(feed)
        rows: Sequence[tuple[Any, ...]] = list(
            feed.values_list(  # type: ignore[misc]
                "external_id",
                "score",
                "tier",
                "effective_tier",
                "override_tier",
                "matched",
                "changed_at",
                "seq",
                "id",
            )[: size + 1]
        )
        more = len(rows) > size
        rows = rows[:size]
        next_url = None
        if more:
            params = {k: self.request.query_params.getlist(k) for k in self.request.query_params}
            params.update(until=[str(until)], after=[str(rows[-1][-1])])
            next_url = self.request.build_absolute_uri(
                self.request.path + "?" + urlencode(sorted(params.items()), doseq=True)
            )
        return Response(
            {
                "results": self._rows(rows, run),
                "next": next_url,
                "cursor": until,
                "run": run.pk if run else None,
            }
        )

    def _rows(
        self, rows: Sequence[tuple[Any, ...]], run: ScoringRun | None
    ) -> Sequence[dict[str, Any]]:
        if run is None:
            return []
        reasons = StoredReasons(ruleset_for(run.version)) if rows else None
        version = run.version.number
        return [
            {
                "external_id": external_id,
                "score": score,
                "tier": tier,
                "effective_tier": effective,
                "overridden": override is not None,
                "version": version,
                "top_reasons": reasons(matched, tier) if reasons else [],
                "changed_at": changed_at,  # the renderer writes it as DRF would
                "seq": seq,
            }
            for external_id, score, tier, effective, override, matched, changed_at, seq, _ in rows
        ]


# --- Webhooks ---------------------------------------------------------------

WEBHOOK_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH)
WHO_MANAGES = (
    "Needs the permission 'Can manage webhooks' (`scoring.manage_webhooks`), the admin "
    "role in a RevOps team, or a superuser; being staff is not enough (403)."
)
SHOWN_ONCE = "The secret is in this answer only; no later answer shows it."
TARGETS = (
    "`url` must be `https://` (`http://` only where the site allows it) and resolve to "
    "public addresses only: loopback, private, link-local, multicast, reserved and "
    "unspecified addresses are refused (400 naming `url` and why), unless the host is "
    "listed in the site's WEBHOOK_ALLOWED_HOSTS. The address is checked again before "
    "each delivery; one that no longer passes is logged as `refused` and not sent."
)


class ManagesWebhooks(BasePermission):
    """scoring.policies.can_manage_webhooks, with its reason as the 403's detail."""

    def has_permission(self, request: Request, view: Any) -> bool:
        verdict = can_manage_webhooks(cast(User, request.user))
        self.message = verdict.reason
        return verdict.allowed


@extend_schema(tags=["webhooks"])
class WebhookViewSet(SyncViewSet):
    """Subscriptions to events, sent as signed POSTs; managed by whom
    can_manage_webhooks allows."""

    serializer_class = s.WebhookSubscriptionSerializer
    queryset = WebhookSubscription.objects.none()
    lookup_value_regex = ANY_SEGMENT
    permission_classes = (IsAuthenticated, ManagesWebhooks)

    def get_object(self) -> WebhookSubscription:
        return row_in_path(self.get_queryset(), self.kwargs["pk"])

    def get_queryset(self) -> QuerySet[WebhookSubscription]:
        return webhook_subscription_list()

    @extend_schema(
        summary="List subscriptions",
        description=f"Secrets are not shown. {WHO_MANAGES}",
        responses=answers(s.WebhookSubscriptionSerializer(many=True), 403),
    )
    def list(self, request: Request) -> Response:
        return Response(self.get_serializer(self.get_queryset(), many=True).data)

    @extend_schema(
        summary="Subscribe an address to events",
        description="Each delivery is a POST of JSON `{id, event, created_at, data}` with "
        "headers `X-Icpsite-Event`, `X-Icpsite-Delivery` (dedupe on it: delivery is at least "
        "once), `X-Icpsite-Timestamp` (Unix seconds) and `X-Icpsite-Signature: "
        "sha256=<hex>`, the HMAC-SHA256 of `<timestamp>.<body>` with the secret. Answer "
        "2xx; anything else (a redirect too: it is not followed) is retried with growing "
        f"waits, 8 attempts in all. {TARGETS} {SHOWN_ONCE} {WHO_MANAGES}",
        request=s.WebhookInSerializer,
        responses=answers(s.WebhookCreatedSerializer, 400, 403, ok_status=201),
        examples=[
            OpenApiExample(
                "Run finished",
                request_only=True,
                value={"url": "https://crm.example/hooks/icp", "events": ["scoring_run.finished"]},
            )
        ],
    )
    def create(self, request: Request) -> Response:
        data = s.WebhookInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        made = webhook_subscription_create(actor=self.actor, **data.validated_data)
        return Response(s.WebhookCreatedSerializer(made).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Read a subscription",
        description=f"The secret is not shown. {WHO_MANAGES}",
        parameters=[WEBHOOK_ID],
        responses=answers(s.WebhookSubscriptionSerializer, 403, 404),
    )
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        summary="Change a subscription",
        description=f"A new `url` is checked as on creation. {TARGETS} {WHO_MANAGES}",
        parameters=[WEBHOOK_ID],
        request=s.WebhookInSerializer(partial=True),
        responses=answers(s.WebhookSubscriptionSerializer, 400, 403, 404),
    )
    def partial_update(self, request: Request, pk: str) -> Response:
        subscription = self.get_object()
        data = s.WebhookInSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        saved = webhook_subscription_update(
            actor=self.actor, subscription=subscription, **data.validated_data
        )
        return Response(self.get_serializer(saved).data)

    @extend_schema(
        summary="Remove a subscription",
        description=WHO_MANAGES,
        parameters=[WEBHOOK_ID],
        request=None,
        responses=answers(OpenApiResponse(description="Removed."), 403, 404, ok_status=204),
    )
    def destroy(self, request: Request, pk: str) -> Response:
        webhook_subscription_delete(actor=self.actor, subscription=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="A subscription's delivery log",
        description="Newest first, the latest 100. `refused`: the address broke the rule "
        f"when the delivery was due, so it was not sent. {WHO_MANAGES}",
        parameters=[WEBHOOK_ID],
        responses=answers(s.WebhookDeliverySerializer(many=True), 403, 404),
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str) -> Response:
        deliveries = webhook_delivery_list(subscription=self.get_object())
        return Response(s.WebhookDeliverySerializer(deliveries, many=True).data)

    @extend_schema(
        summary="Give a subscription a new secret",
        description="A new random secret replaces the old at once: deliveries signed from "
        f"now on use it. {SHOWN_ONCE} {WHO_MANAGES}",
        parameters=[WEBHOOK_ID],
        request=None,
        responses=answers(s.WebhookSecretSerializer, 403, 404),
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str) -> Response:
        rotated = webhook_subscription_rotate_secret(
            actor=self.actor, subscription=self.get_object()
        )
        return Response(s.WebhookSecretSerializer(rotated).data)


# --- Runs ---------------------------------------------------------------------

PROFILE_SLUG = OpenApiParameter(
    "slug", OpenApiTypes.STR, OpenApiParameter.PATH, description="The profile's slug."
)
RUN_ID = OpenApiParameter("pk", OpenApiTypes.INT, OpenApiParameter.PATH, description="The run.")


class RunViewSet(SyncViewSet):
    """A profile's scoring runs: an approval queues one, workers score every
    account, and the run becomes current (the feed's) when it finishes."""

    serializer_class = s.RunSerializer
    queryset = ScoringRun.objects.none()

    def _runs(self, slug: str) -> QuerySet[ScoringRun]:
        profile = score_profile_get(slug=slug_in_path(slug, "profile"))
        if profile is None:
            raise exceptions.NotFound(f"No profile {slug!r}.")
        return run_list(profile=profile)

    @extend_schema(
        summary="A profile's scoring runs",
        description="Newest first, the latest 100 (finished runs are pruned down to the "
        "current one and the one before). Poll a run until `is_current` to know the feed "
        "serves its scores, or subscribe to the `scoring_run.finished` webhook.",
        parameters=[PROFILE_SLUG],
        responses=answers(s.RunSerializer(many=True), 404),
    )
    def list(self, request: Request, slug: str) -> Response:
        runs = self._runs(slug)[:100]
        return Response(self.get_serializer(runs, many=True).data)

    @extend_schema(
        summary="One scoring run",
        description="Its status (queued, running, succeeded, failed, superseded), progress, "
        "counts, tier movement and times.",
        parameters=[PROFILE_SLUG, RUN_ID],
        responses=answers(s.RunSerializer, 404),
    )
    def retrieve(self, request: Request, slug: str, pk: str) -> Response:
        return Response(self.get_serializer(row_in_path(self._runs(slug), pk)).data)
