"""Viewsets of the CRM sync API: accounts, outcomes and deals in, scores
out, webhooks.

Writes go through scoring.ingest, scoring.services and scoring.webhooks,
reads through scoring.selectors, the same calls the pages make.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, cast

from django.conf import settings
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

from icpsite.api import pagination
from icpsite.api.base import ApiViewMixin, QuerySerializers
from icpsite.api.errors import ErrorDetailSerializer, answers
from icpsite.api.fields import stored_text
from icpsite.api.pagination import NewestFirstCursor
from icpsite.api.params import (
    ANY_SEGMENT,
    ANY_TEXT,
    row_in_path,
    slug_in_path,
    text_in_path,
    valid_body,
)
from icpsite.api.parsers import MAX_BODY_BYTES, PayloadTooLargeError
from profiles.models import Trait, User
from profiles.selectors import trait_get, trait_list
from scoring.api import serializers as s
from scoring.api.auth import AdminKeyToWrite
from scoring.cursors import MAX_LENGTH as CURSOR_LENGTH
from scoring.cursors import OTHER_PROFILE, CursorError, feed_cursor, feed_cursor_seq
from scoring.explain import StoredReasons, criterion_outcomes
from scoring.filters import ScoreFilter
from scoring.ingest.deal_rows import DEAL_ID_LENGTH
from scoring.ingest.deals import deal_delete, deals_import
from scoring.ingest.importer import ImportFileError, ImportReport, accounts_import
from scoring.ingest.rows import MAX_EXTERNAL_ID_LENGTH
from scoring.models import (
    Account,
    Deal,
    DealState,
    ScoringRun,
    WebhookSubscription,
)
from scoring.policies import TraitChange, can_change_traits, can_manage_webhooks
from scoring.rulesets import ruleset_for
from scoring.selectors import (
    ProfileScore,
    account_explanations,
    account_get_by_external_id,
    account_history,
    account_ids_by_external_id,
    account_outcome,
    account_outcomes,
    account_sync_list,
    changes_cursor,
    current_run,
    deal_get_by_external_id,
    deal_list,
    removals_pruned_seq,
    run_list,
    score_feed,
    score_profile_get,
    tombstone_feed,
    trait_value_counts,
    webhook_delivery_list,
    webhook_subscription_list,
)
from scoring.services import accounts_merge, accounts_remove
from scoring.traits import trait_declare, trait_delete, trait_update
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


def _external_id(row: Mapping[str, Any], length: int) -> str:
    value = row.get("external_id")
    return value.strip()[:length] if isinstance(value, str) else ""


def _results(rows: list[dict[str, Any]], report: ImportReport, id_length: int) -> dict[str, Any]:
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
        result: dict[str, Any] = {"index": index, "external_id": _external_id(row, id_length)}
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


class BulkWriteViewSet(SyncViewSet):
    """A viewset with bulk writes: a body over the limit is refused before
    it is read, and each write answers every row's result."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            raise PayloadTooLargeError

    def bulk(
        self,
        envelope: type[serializers.Serializer[Any]],
        key: str,
        run: Callable[..., ImportReport],
        id_length: int,
        **options: Any,
    ) -> Response:
        """Check the body's envelope, import its rows with `run`, and answer
        each row's result: 200 when something was stored (or nothing was
        wrong), 400 otherwise, 409 when another writer got in the way."""
        if not isinstance(self.request.data, dict):
            raise exceptions.ValidationError(
                {"non_field_errors": ['Send a JSON object, e.g. {"' + key + '": [...]}.']}
            )
        data = envelope(data=self.request.data)
        data.is_valid(raise_exception=True)
        rows = data.validated_data[key]
        try:
            report = run(
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
        return Response(_results(rows, report, id_length), status=code)


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


REMOVAL = (
    "Its deals, tier overrides, reps' claims and scores go with it, and the scores feed of "
    'every profile reports it once, as `{"external_id": ..., "deleted": true}`, to a '
    "sync reading changes since a cursor from before the removal. Needs the right to "
    "remove accounts: a manager or admin of a team, or the permission 'Can delete account' "
    "(`scoring.delete_account`, an integration's)."
)


@extend_schema(tags=["accounts"])
class AccountSyncViewSet(BulkWriteViewSet):
    """Accounts and their outcomes, pushed by a CRM and matched by external_id;
    listed, removed and merged as the CRM reconciles."""

    serializer_class = s.BulkUpsertSerializer
    queryset = Account.objects.none()
    lookup_field = "external_id"
    # A CRM's id is any text, a slash included (sent as %2F, which arrives decoded).
    lookup_value_regex = ANY_TEXT
    pagination_class = NewestFirstCursor
    query_serializers: ClassVar[QuerySerializers] = {"list": s.AccountListQuerySerializer}

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
        outcome = account_outcome(account=account)
        body: dict[str, Any] = {
            str(name): outcome[name] if name in outcome else getattr(account, str(name))
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
        "right after sees their tiers. The deal fields (`deal_status`, `deal_closed_at`, "
        "`deal_amount`, `opportunity_opened_at`) are a shortcut to the account's outcome "
        "deal, `outcome:<external_id>`, as on `accounts/outcomes/`; a CRM that keeps many "
        "opportunities per account sends them to `deals/bulk-upsert/` instead. Category "
        "values (industry, country, funding_stage, crm, text traits) are stored as sent and "
        "compared ignoring case and spacing; a row whose value no criterion of a live or "
        "draft version names (so it matches none) comes back with `warnings` naming the "
        "field, and is stored all the same.",
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
        return self.bulk(
            s.BulkUpsertSerializer, "accounts", accounts_import, MAX_EXTERNAL_ID_LENGTH
        )

    @extend_schema(
        summary="Record deal outcomes and churn for up to 1,000 accounts",
        description="Rows name an account already sent (by `external_id`) and only outcome "
        "fields: lifecycle stage, opportunity opened, deal status, closed date, amount, "
        "churned. The same rules as bulk-upsert: all or nothing by default, per-row "
        "results, repeats change nothing. An unknown external_id is that row's error.\n\n"
        "The deal fields are a shortcut to one deal per account, the account's outcome deal "
        "`outcome:<external_id>` (listed by `GET deals/?account=<external_id>`): "
        "`deal_status` sets its status, `deal_closed_at` its `closed_at`, `deal_amount` its "
        "`amount`, `opportunity_opened_at` its `opened_at`. The first outcome value makes it "
        "(open unless won or lost); won or lost needs `deal_closed_at`, sent or stored, or "
        "the row is refused naming `deal_closed_at`. `deal_status` empty or null makes it "
        "open again, and removes it when it holds no date and no amount. For many deals per "
        "account, use `deals/bulk-upsert/`.",
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
        return self.bulk(
            s.OutcomesSerializer,
            "outcomes",
            accounts_import,
            MAX_EXTERNAL_ID_LENGTH,
            outcomes_only=True,
        )

    # --- Reconciling ---------------------------------------------------------

    @extend_schema(
        summary="The accounts held, page by page",
        description="Every account icpsite holds, newest first, with its stored fields as "
        "bulk-upsert takes them (an item sent back as a row changes nothing). Page with "
        "`next` (a cursor: pages stay consistent while accounts come and go). The outcome "
        "fields are read from the account's outcome deal. Filters: `updated_since` (changed "
        "in icpsite at or after that moment, its outcome deal written or removed included), "
        "`external_id__in` "
        f"(up to {s.MAX_ROWS:,} ids, comma-separated; an id holding a comma is read one at a "
        "time from `accounts/{external_id}/`), and `tier` with `profile` (the effective "
        "tier: an accepted override, else the scored tier, under that profile's current "
        "run). Compare with the CRM's ids to find what to remove (`bulk-delete`) or push.",
        parameters=[s.AccountListQuerySerializer],
        responses=answers(s.AccountSyncSerializer, 400),
        examples=[
            OpenApiExample(
                "An account",
                response_only=True,
                status_codes=["200"],
                value={
                    **ROW_EXAMPLE,
                    "funding_stage": "Series B",
                    "crm": "Salesforce",
                    "lifecycle_stage": "customer",
                    "opportunity_opened_at": "2025-03-02T00:00:00Z",
                    "deal_status": "won",
                    "deal_closed_at": "2025-05-31T09:30:00Z",
                    "deal_amount": "48000.00",
                    "churned_at": None,
                },
            )
        ],
    )
    def list(self, request: Request) -> Response:
        query = self.query
        run = None
        if "profile" in query:
            profile = score_profile_get(slug=query["profile"])
            if profile is None:
                raise exceptions.ValidationError({"profile": [f"No profile {query['profile']!r}."]})
            run = current_run(profile=profile)
        accounts = account_sync_list(
            updated_since=query.get("updated_since"),
            external_ids=query.get("external_id__in"),
            run=run,
            tiers=query.get("tier"),
        )
        page = self.paginate_queryset(accounts)
        outcomes = account_outcomes(accounts=page or [])
        items = s.AccountSyncSerializer(page, many=True, context={"outcomes": outcomes})
        return self.get_paginated_response(items.data)

    @extend_schema(
        summary="Remove an account",
        description=f"The CRM deleted it. {REMOVAL}",
        parameters=[OpenApiParameter("external_id", OpenApiTypes.STR, OpenApiParameter.PATH)],
        request=None,
        responses=answers(OpenApiResponse(description="Removed."), 403, 404, ok_status=204),
    )
    def destroy(self, request: Request, external_id: str) -> Response:
        external_id = text_in_path(external_id, "account")
        account = account_get_by_external_id(external_id=external_id)
        ids = [] if account is None else [account.pk]
        # Unknown, or removed by another request meanwhile: not found either way.
        if not accounts_remove(actor=self.actor, account_ids=ids):
            raise exceptions.NotFound(f"No account {external_id!r}.")
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary=f"Remove up to {s.MAX_ROWS:,} accounts",
        description=f"The CRM deleted them. {REMOVAL} Each id's result is `deleted` or "
        "`not_found` (never held, or removed already): repeating a request removes nothing "
        "more and answers `not_found` for each.",
        request=s.BulkDeleteSerializer,
        responses=answers(s.BulkDeleteResultSerializer, 400, 403, 413, 415),
        examples=[
            OpenApiExample(
                "Two ids", request_only=True, value={"external_ids": ["0015g00000Q", "0015g00000Z"]}
            ),
            OpenApiExample(
                "One removed, one not held",
                response_only=True,
                status_codes=["200"],
                value={
                    "deleted": 1,
                    "not_found": 1,
                    "results": [
                        {"index": 0, "external_id": "0015g00000Q", "status": "deleted"},
                        {"index": 1, "external_id": "0015g00000Z", "status": "not_found"},
                    ],
                },
            ),
        ],
    )
    @action(detail=False, methods=["post"], url_path="bulk-delete")
    def bulk_delete(self, request: Request) -> Response:
        external_ids = valid_body(request, s.BulkDeleteSerializer)["external_ids"]
        held = account_ids_by_external_id(external_ids=external_ids)
        removed = accounts_remove(actor=self.actor, account_ids=list(held.values()))
        gone = {account.external_id for account in removed}
        results = [
            {
                "index": index,
                "external_id": external_id,
                "status": "deleted" if external_id in gone else "not_found",
            }
            for index, external_id in enumerate(external_ids)
        ]
        deleted = sum(r["status"] == "deleted" for r in results)
        body = {"deleted": deleted, "not_found": len(results) - deleted, "results": results}
        return Response(s.BulkDeleteResultSerializer(body).data)

    @extend_schema(
        summary="Merge accounts into one",
        description="The CRM merged them. The survivor (`into`) keeps its own attributes and "
        "takes over the deals, tier overrides and reps' claims of the accounts in `from`; "
        "where it has a tier override of its own under a profile, it keeps it, and a rep's "
        "pending claim on a merged account gives way to the same rep's pending claim on the "
        f"survivor under the same profile. The accounts in `from` are then removed. {REMOVAL} "
        "All or nothing: an unknown account, the survivor listed in `from`, an id listed "
        "twice, an empty or too long `from` is a 400 naming the field, and nothing changes. "
        "A merge that went through, sent again, is a 400 naming the `from` ids now gone.",
        request=s.AccountMergeSerializer,
        responses=answers(s.AccountMergeResultSerializer, 400, 403, 413, 415),
        examples=[
            OpenApiExample(
                "Two duplicates into one",
                request_only=True,
                value={"into": "0015g00000XyZ12", "from": ["0015g00000Q", "0015g00000R"]},
            ),
            OpenApiExample(
                "Merged",
                response_only=True,
                status_codes=["200"],
                value={
                    "into": "0015g00000XyZ12",
                    "merged": ["0015g00000Q", "0015g00000R"],
                    "deals_moved": 3,
                    "tier_overrides_moved": 1,
                },
            ),
            OpenApiExample(
                "The survivor listed in from",
                response_only=True,
                status_codes=["400"],
                value={
                    "from": [
                        "'0015g00000XyZ12' is the survivor (`into`); it cannot be merged "
                        "into itself."
                    ]
                },
            ),
        ],
    )
    @action(detail=False, methods=["post"])
    def merge(self, request: Request) -> Response:
        data = valid_body(request, s.AccountMergeSerializer)
        merged = accounts_merge(actor=self.actor, into=data["into"], merged=data["from"])
        body = {
            "into": merged.into.external_id,
            "merged": merged.merged,
            "deals_moved": merged.deals_moved,
            "tier_overrides_moved": merged.tier_overrides_moved,
        }
        return Response(s.AccountMergeResultSerializer(body).data)


# --- Deals in and out ---------------------------------------------------------

DEAL_ROW_EXAMPLE = {
    "external_id": "0065g00000Opp42",
    "account": "0015g00000XyZ12",
    "name": "Acme Analytics renewal 2026",
    "stage": "Closed Won",
    "type": "renewal",
    "amount": "48000.00",
    "currency": "EUR",
    "opened_at": "2026-03-02",
    "closed_at": "2026-05-29T16:00:00+02:00",
}
DEAL_CONFLICT = OpenApiResponse(
    ErrorDetailSerializer,
    description="Another request wrote the same deals or their accounts at the same moment; "
    "nothing was stored. Send the request again.",
)


class DealQuerySerializer(serializers.Serializer[Any]):
    account = serializers.CharField(
        required=False, max_length=MAX_EXTERNAL_ID_LENGTH, help_text="An account's external_id."
    )
    status = serializers.ChoiceField(choices=DealState.choices, required=False)
    updated_since = serializers.DateTimeField(
        required=False,
        help_text="Only deals written at or after this moment (ISO 8601, with an offset).",
    )
    cursor = serializers.CharField(required=False, help_text="A page's place, from `next`.")
    page_size = serializers.IntegerField(
        min_value=1,
        max_value=pagination.MAX_PAGE_SIZE,
        required=False,
        help_text=f"Rows per page, 1 to {pagination.MAX_PAGE_SIZE} "
        f"(default {pagination.PAGE_SIZE}).",
    )

    def validate_account(self, value: str) -> str:
        return stored_text(value)


@extend_schema(tags=["deals"])
class DealViewSet(BulkWriteViewSet):
    """A CRM's opportunities: new business, expansions and renewals, open or
    closed won or lost, many per account; matched by external_id."""

    serializer_class = s.DealSerializer
    queryset = Deal.objects.none()
    lookup_field = "external_id"
    # A CRM's id is any text, a slash included (sent as %2F, which arrives decoded).
    lookup_value_regex = ANY_TEXT
    pagination_class = NewestFirstCursor
    query_serializers: ClassVar[QuerySerializers] = {"list": DealQuerySerializer}

    @extend_schema(
        summary="Deals, newest first",
        description="Every deal with its account's external_id, the latest recorded first "
        "(pages stay consistent while deals are added; follow `next`). Narrow with "
        "`account`, `status` and `updated_since`: a sync that keeps the time it last asked "
        "gets what was written since. The accounts' outcome deals are among them, as "
        "`outcome:<account external_id>`.",
        parameters=[DealQuerySerializer],
        responses=answers(s.DealSerializer(many=True), 400),
    )
    def list(self, request: Request) -> Response:
        query = self.query
        deals = deal_list(
            account=query.get("account"),
            status=query.get("status"),
            updated_since=query.get("updated_since"),
        )
        page = self.paginate_queryset(deals)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Remove a deal",
        description="The CRM deleted the opportunity. Whoever may write deals may remove one "
        "(403 otherwise). Removing an account's outcome deal clears its outcome.",
        parameters=[OpenApiParameter("external_id", OpenApiTypes.STR, OpenApiParameter.PATH)],
        request=None,
        responses=answers(OpenApiResponse(description="Removed."), 403, 404, ok_status=204),
    )
    def destroy(self, request: Request, external_id: str) -> Response:
        external_id = text_in_path(external_id, "deal")
        deal = deal_get_by_external_id(external_id=external_id)
        if deal is None:
            raise exceptions.NotFound(f"No deal {external_id!r}.")
        deal_delete(actor=self.actor, deal=deal)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Create or update up to 1,000 deals",
        description="Matched by `external_id`, with the rules of `accounts/bulk-upsert/`: a "
        "field left out keeps its value, null clears it, nothing is coerced; all or nothing "
        "by default (400 with every row's result), `valid_only` stores the good rows; an "
        "external_id may appear once per request; repeating a request changes nothing "
        "(`unchanged`). A new deal needs its `account`, the external_id of an account "
        "already sent; an account not held is the row's error, naming it. A won or lost "
        "deal needs `closed_at`, sent in the row or already stored, or the row is refused "
        "naming `closed_at`. Without `status`, a won or lost `stage` (Closed Won, closedwon, "
        "Closed Lost) sets it, any other stage makes the deal open. Ids starting with "
        "`outcome:` are the accounts' outcome deals, written through the accounts' outcome "
        "fields only. Deals are not scored; the reviews' win rates and evidence count them.",
        request=s.DEAL_UPSERT_REQUEST,
        responses=answers(
            s.BulkResultSerializer, 400, 403, 409, 413, 415, own={409: DEAL_CONFLICT}
        ),
        examples=[
            OpenApiExample(
                "A renewal won and an open expansion",
                request_only=True,
                value={
                    "deals": [
                        DEAL_ROW_EXAMPLE,
                        {
                            "external_id": "0065g00000Opp43",
                            "account": "0015g00000XyZ12",
                            "name": "Acme Analytics: 50 more seats",
                            "stage": "Negotiation/Review",
                            "type": "expansion",
                            "amount": 9600,
                            "currency": "EUR",
                            "opened_at": "2026-10-01",
                        },
                    ]
                },
            ),
            OpenApiExample(
                "A stage change on a deal held",
                request_only=True,
                value={
                    "deals": [
                        {
                            "external_id": "0065g00000Opp43",
                            "stage": "Closed Lost",
                            "closed_at": "2026-11-20",
                        }
                    ]
                },
            ),
            OpenApiExample(
                "Stored",
                response_only=True,
                status_codes=["200"],
                value={
                    "written": True,
                    "created": 1,
                    "updated": 1,
                    "unchanged": 0,
                    "invalid": 0,
                    "results": [
                        {"index": 0, "external_id": "0065g00000Opp42", "status": "updated"},
                        {"index": 1, "external_id": "0065g00000Opp43", "status": "created"},
                    ],
                },
            ),
            OpenApiExample(
                "An unknown account and a won deal without its date, nothing stored",
                response_only=True,
                status_codes=["400"],
                value={
                    "written": False,
                    "created": 0,
                    "updated": 0,
                    "unchanged": 0,
                    "invalid": 2,
                    "results": [
                        {
                            "index": 0,
                            "external_id": "0065g00000Opp42",
                            "status": "invalid",
                            "errors": {
                                "account": [
                                    "no account '0015g00000Nope'; send the account itself first"
                                ]
                            },
                        },
                        {
                            "index": 1,
                            "external_id": "0065g00000Opp43",
                            "status": "invalid",
                            "errors": {
                                "closed_at": ["missing; a won deal needs the date it closed"]
                            },
                        },
                    ],
                },
            ),
        ],
    )
    @action(detail=False, methods=["post"], url_path="bulk-upsert")
    def bulk_upsert(self, request: Request) -> Response:
        return self.bulk(s.DealBulkUpsertSerializer, "deals", deals_import, DEAL_ID_LENGTH)


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
    OpenApiTypes.STR,
    description="Only accounts whose score, tier, matched criteria, effective tier or "
    "override changed after this cursor (the `cursor` of an earlier page, sent back exactly "
    "as it came), and the accounts removed since, each as "
    '`{"external_id": ..., "deleted": true}`. A cursor from another profile\'s feed, one '
    "changed by hand or a bare number (the cursors of before) is a 400 naming this "
    "parameter. A cursor older than the site's tombstone retention "
    "(FEED_TOMBSTONE_RETENTION_DAYS, 30 days by default) may be too: removals it has not "
    "seen are no longer kept, so sync again without it.",
)
UNTIL_PARAM = OpenApiParameter("until", OpenApiTypes.STR, description=FEED_POSITION)
AFTER_PARAM = OpenApiParameter("after", OpenApiTypes.INT, description=FEED_POSITION)

RESYNC = (
    "This cursor is older than the removals kept ({days} days): some accounts removed "
    "since may no longer be reported. Sync again without changed_since (every account) and "
    "keep that page's `cursor`."
)


def _cursor_field() -> serializers.CharField:
    return serializers.CharField(max_length=CURSOR_LENGTH, required=False)


class FeedQuerySerializer(serializers.Serializer[Any]):
    profile = serializers.SlugField(max_length=200)
    page_size = serializers.IntegerField(min_value=1, max_value=MAX_PAGE_SIZE, default=PAGE_SIZE)
    changed_since = _cursor_field()
    until = _cursor_field()
    after = serializers.IntegerField(min_value=0, max_value=2**62, default=0)


def _position(query: Mapping[str, Any], name: str, profile_id: int) -> int | None:
    """The change number a cursor parameter names (None when not given), or
    a 400 naming the parameter and what to send instead."""
    token = query.get(name)
    if token is None:
        return None
    try:
        return feed_cursor_seq(token, profile_id=profile_id)
    except CursorError as exc:
        raise exceptions.ValidationError({name: [str(exc)]}) from None


@extend_schema_view(
    list=extend_schema(
        summary="Scores and tiers, changed since a cursor",
        description="Every account scored under the profile, in a stable order, with its "
        "score, tier, effective tier (an accepted override, else the tier), the version "
        "that scored it and the top reasons. Page with `next`. Keep the last page's "
        "`cursor`, an opaque token of this profile's feed: `changed_since=<cursor>` later "
        "returns exactly the accounts whose score, tier, matched criteria, effective tier or "
        "override changed since (rescoring runs, ingest and overrides alike), each once, and "
        "each account removed since (deleted, or merged into another) once, as "
        '`{"external_id": ..., "deleted": true}`: drop that record. Removals are not '
        "filtered by tier or score (they have none). A sync without `changed_since` lists "
        "the accounts held and reports no removals. A sync is pinned to the moment its "
        "first page was read: an account that changes or goes while later pages are read "
        "comes in the next sync, so pages stay consistent while the base changes.",
        parameters=[PROFILE_PARAM, PAGE_SIZE_PARAM, SINCE_PARAM, UNTIL_PARAM, AFTER_PARAM],
        responses=answers(s.ScorePageSerializer, 400),
        examples=[
            OpenApiExample(
                "Changes since a cursor",
                response_only=True,
                status_codes=["200"],
                value={
                    "results": [
                        {
                            "external_id": "0015g00000XyZ12",
                            "score": 85,
                            "tier": "A",
                            "effective_tier": "A",
                            "overridden": False,
                            "version": 3,
                            "top_reasons": ["Employees is between 200 and 2,000 (+60)"],
                            "changed_at": "2026-11-30T04:12:09Z",
                            "seq": 5121,
                        },
                        {"external_id": "0015g00000Q", "deleted": True},
                    ],
                    "next": None,
                    "cursor": "eyJwIjoxLCJzIjo1MTIyfQ:rZ0X2dNw5oKkB7TnQ4yC5H0u1rJ4y7lI8v2W6mS3aEo",
                    "run": 42,
                },
            ),
            OpenApiExample(
                "A cursor from another profile",
                response_only=True,
                status_codes=["400"],
                value={"changed_since": [OTHER_PROFILE]},
            ),
        ],
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
        since = _position(query, "changed_since", profile.pk)
        # The counter before the run: a flip in between then falls after `until`.
        until = _position(query, "until", profile.pk)
        if until is None:
            until = changes_cursor(profile_id=profile.pk)
        run = current_run(profile=profile)
        size = query["page_size"]
        feed = score_feed(run=run, since=since or 0, until=until, after=query["after"])
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
        removed = [] if since is None else self._removed(profile.pk, since, until, size)
        results, last, more = self._page(rows, removed, run, size)
        cursor = feed_cursor(profile_id=profile.pk, seq=until)
        next_url = None
        if more:
            params = {k: self.request.query_params.getlist(k) for k in self.request.query_params}
            params.update(until=[cursor], after=[str(last)])
            next_url = self.request.build_absolute_uri(
                self.request.path + "?" + urlencode(sorted(params.items()), doseq=True)
            )
        return Response(
            {
                "results": results,
                "next": next_url,
                "cursor": cursor,
                "run": run.pk if run else None,
            }
        )

    def _removed(
        self, profile_id: int, since: int, until: int, size: int
    ) -> Sequence[tuple[str, int]]:
        """The page's removals, (external_id, account id), in the sync's
        window; a 400 when the cursor is older than the tombstones kept,
        checked after reading them, so a prune meanwhile is seen."""
        tombstones = tombstone_feed(
            profile_id=profile_id, since=since, until=until, after=self.query["after"]
        )
        removed = list(tombstones.values_list("external_id", "account_id")[: size + 1])
        if since < removals_pruned_seq(profile_id=profile_id):
            days = settings.FEED_TOMBSTONE_RETENTION_DAYS
            raise exceptions.ValidationError({"changed_since": [RESYNC.format(days=days)]})
        return removed

    def _page(
        self,
        rows: Sequence[tuple[Any, ...]],
        removed: Sequence[tuple[str, int]],
        run: ScoringRun | None,
        size: int,
    ) -> tuple[Sequence[dict[str, Any]], int, bool]:
        """The page's items, accounts and removals together in account id
        order; the last item's account id; whether more follow."""
        if not removed:
            more = len(rows) > size
            rows = rows[:size]
            return self._rows(rows, run), rows[-1][-1] if rows else 0, more
        ids = heapq.merge(
            ((row[-1], True, i) for i, row in enumerate(rows)),
            ((account_id, False, i) for i, (_, account_id) in enumerate(removed)),
        )
        chosen = list(itertools.islice(ids, size + 1))
        more = len(chosen) > size
        chosen = chosen[:size]
        live = iter(self._rows([rows[i] for _, scored, i in chosen if scored], run))
        items = [
            next(live) if scored else {"external_id": removed[i][0], "deleted": True}
            for _, scored, i in chosen
        ]
        return items, chosen[-1][0], more

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
        description="The latest 100 deliveries, newest first, each with its attempt log "
        "(oldest first). A delivery is tried up to 8 times, waiting 30 s after the first "
        "failure and twice as long after each next one, at most 30 minutes (about an hour "
        "in all); then it is `failed`. `refused`: the address broke the rule when the "
        "delivery was due, so it was not sent: the log shows it, `attempts` does not count "
        "it, and it is not retried. Attempts older than WEBHOOK_ATTEMPT_RETENTION_DAYS (30 "
        "by default) leave the log nightly; the deliveries stay, with their counts and "
        f"last error. {WHO_MANAGES}",
        parameters=[WEBHOOK_ID],
        responses=answers(s.WebhookDeliverySerializer(many=True), 403, 404),
        examples=[
            OpenApiExample(
                "Delivered on the second attempt",
                response_only=True,
                value=[
                    {
                        "id": 7,
                        "event": "scoring_run.finished",
                        "event_id": "8f14e45f-ceea-467f-a0e6-2d2b8a2b7c1e",
                        "status": "succeeded",
                        "attempts": 2,
                        "response_status": 200,
                        "last_error": "",
                        "created_at": "2025-06-02T09:03:40Z",
                        "last_attempt_at": "2025-06-02T09:04:11Z",
                        "attempt_log": [
                            {
                                "number": 1,
                                "attempted_at": "2025-06-02T09:03:41Z",
                                "response_status": 503,
                                "duration_ms": 84,
                                "error": "HTTP 503 Service Unavailable",
                                "outcome": "pending",
                            },
                            {
                                "number": 2,
                                "attempted_at": "2025-06-02T09:04:11Z",
                                "response_status": 200,
                                "duration_ms": 61,
                                "error": "",
                                "outcome": "succeeded",
                            },
                        ],
                        "delivered_at": "2025-06-02T09:04:11Z",
                    }
                ],
            )
        ],
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
RUN_EXAMPLE = {
    "id": 42,
    "profile": "mid-market-saas",
    "version": 4,
    "status": "succeeded",
    "is_current": True,
    "progress": 100,
    "chunks_done": 20,
    "chunks_total": 20,
    "accounts_scored": 1000000,
    "tier_counts": {"A": 81250, "B": 240100, "C": 655400, "DQ": 23250},
    "tier_movement": {"B->A": 1210, "A->B": 380, "C->DQ": 95},
    "error": "",
    "created_at": "2025-06-02T09:00:00Z",
    "started_at": "2025-06-02T09:00:01Z",
    "finished_at": "2025-06-02T09:03:40Z",
}

# The route names it pk; the schema, as for every id, calls it id.
RUN_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The run.")


@extend_schema(tags=["runs"])
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
        description="Newest first, at most 100. An approval queues a run (and supersedes "
        "one still queued or running); each time a run succeeds, the finished runs "
        "(succeeded, failed, superseded) are pruned down to the current run and the "
        "succeeded run before it, so a failed or superseded run is listed until the next "
        "run succeeds. Poll a run until `is_current` to know the feed serves its scores, or "
        "subscribe to the `scoring_run.finished` webhook. An unknown profile is a 404.",
        parameters=[PROFILE_SLUG],
        responses=answers(s.RunSerializer(many=True), 404),
        examples=[OpenApiExample("A run that succeeded", response_only=True, value=[RUN_EXAMPLE])],
    )
    def list(self, request: Request, slug: str) -> Response:
        runs = self._runs(slug)[:100]
        return Response(self.get_serializer(runs, many=True).data)

    @extend_schema(
        summary="One scoring run",
        description="Its status (queued, running, succeeded, failed, superseded), progress, "
        "counts, tier movement and times. A run of another profile, or one pruned, is a 404.",
        parameters=[PROFILE_SLUG, RUN_ID],
        responses=answers(s.RunSerializer, 404),
        examples=[
            OpenApiExample("A run that succeeded", response_only=True, value=RUN_EXAMPLE),
            OpenApiExample(
                "A run half way",
                response_only=True,
                value={
                    **RUN_EXAMPLE,
                    "id": 43,
                    "version": 5,
                    "status": "running",
                    "is_current": False,
                    "progress": 50,
                    "chunks_done": 10,
                    "accounts_scored": 0,
                    "tier_counts": {},
                    "tier_movement": {},
                    "finished_at": None,
                },
            ),
        ],
    )
    def retrieve(self, request: Request, slug: str, pk: str) -> Response:
        return Response(self.get_serializer(row_in_path(self._runs(slug), pk)).data)


# --- Traits -------------------------------------------------------------------

TRAIT_KEY = OpenApiParameter(
    "key", OpenApiTypes.STR, OpenApiParameter.PATH, description="The trait's key."
)
WHO_CHANGES_TRAITS = (
    "Needs the permission the admin asks for (`profiles.add_trait`, `profiles.change_trait`, "
    "`profiles.delete_trait`; superusers hold them) and, with an API key, an admin key: a "
    "read or write key gets 403."
)
TRAIT_EXAMPLE = {
    "key": "seats",
    "label": "Paid seats",
    "help": "Seats on the current contract.",
    "type": "number",
    "category": "firmographic",
    "operators": ["between", "gte", "lte", "eq"],
    "accounts_with_value": 48210,
}
TRAIT_IN_USE = OpenApiResponse(
    ErrorDetailSerializer,
    description="The trait is in use, or an import is writing accounts with it at this "
    "moment; nothing changed. The detail says what holds on to it.",
    examples=[
        OpenApiExample(
            "Tested by criteria",
            value={
                "detail": "Criteria of Mid-market SaaS v4 (approved) test seats; remove them "
                "from the open versions and approve a version without them first."
            },
        ),
        OpenApiExample(
            "Being imported",
            value={
                "detail": "An import is writing accounts with the trait seats right now; try "
                "again once it has finished."
            },
        ),
    ],
)


class ChangesTraits(BasePermission):
    """scoring.policies.can_change_traits for the request's method, with its
    reason as the 403's detail; reading needs only a signed-in person."""

    CHANGES: ClassVar[dict[str, TraitChange]] = {
        "POST": "add",
        "PATCH": "change",
        "DELETE": "delete",
    }

    def has_permission(self, request: Request, view: Any) -> bool:
        change = self.CHANGES.get(request.method or "")
        if change is None:
            return True
        verdict = can_change_traits(cast(User, request.user), change)
        self.message = verdict.reason
        return verdict.allowed


@extend_schema(tags=["traits"])
class TraitViewSet(SyncViewSet):
    """The custom account attributes (traits) accounts may carry and criteria
    may test; declared and changed through scoring.traits, as in the admin."""

    serializer_class = s.TraitSerializer
    queryset = Trait.objects.none()
    lookup_field = "key"
    lookup_value_regex = ANY_SEGMENT
    permission_classes = (IsAuthenticated, AdminKeyToWrite, ChangesTraits)

    def get_object(self) -> Trait:
        key = text_in_path(self.kwargs["key"], "trait")
        trait = trait_get(key=key)
        if trait is None:
            raise exceptions.NotFound(f"No trait {key!r}; GET /api/v1/traits/ lists them.")
        return trait

    def _answer(self, traits: Sequence[Trait], *, many: bool = False, code: int = 200) -> Response:
        counts = trait_value_counts(keys=[trait.key for trait in traits])
        data = s.TraitSerializer(
            traits if many else traits[0], many=many, context={"counts": counts}
        )
        return Response(data.data, status=code)

    @extend_schema(
        summary="List the declared traits",
        description="Every trait accounts may carry (in a row's `traits` object, or a "
        "`traits.<key>` CSV column) and criteria may test, by key, with how many accounts "
        "hold a value for each: one pass over the accounts for the whole list, about 0.2 s "
        "per million accounts. Any key may read it.",
        responses=answers(s.TraitSerializer(many=True)),
        examples=[OpenApiExample("One trait", response_only=True, value=[TRAIT_EXAMPLE])],
    )
    def list(self, request: Request) -> Response:
        return self._answer(list(trait_list()), many=True)

    @extend_schema(
        summary="Read a trait",
        parameters=[TRAIT_KEY],
        responses=answers(s.TraitSerializer, 404),
    )
    def retrieve(self, request: Request, key: str) -> Response:
        return self._answer([self.get_object()])

    @extend_schema(
        summary="Declare a trait",
        description="Accounts may then send values for it and criteria test it. The key "
        "follows one rule here and in the admin; a key a trait or a built-in attribute "
        f"already has is refused (400 naming `key`). {WHO_CHANGES_TRAITS}",
        request=s.TraitInSerializer,
        responses=answers(s.TraitSerializer, 400, 403, 415, ok_status=201),
        examples=[
            OpenApiExample(
                "A number trait",
                request_only=True,
                value={
                    "key": "seats",
                    "label": "Paid seats",
                    "type": "number",
                    "category": "firmographic",
                    "help": "Seats on the current contract.",
                },
            ),
            OpenApiExample(
                "Declared",
                response_only=True,
                status_codes=["201"],
                value={**TRAIT_EXAMPLE, "accounts_with_value": 0},
            ),
            OpenApiExample(
                "A built-in attribute's key",
                response_only=True,
                status_codes=["400"],
                value={
                    "key": [
                        "'employees' is the key of the built-in attribute Employees; choose "
                        "another key."
                    ]
                },
            ),
        ],
    )
    def create(self, request: Request) -> Response:
        data = valid_body(request, s.TraitInSerializer)
        trait = trait_declare(actor=self.actor, **data)
        return self._answer([trait], code=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a trait's label, help, category or type",
        description="The key never changes (send it and it is refused as an unknown field). "
        "The type changes only while no account holds a value for the trait and no "
        "criterion of a live or open version tests it; otherwise 400 naming `type` and what "
        "holds on to it. While an import writes accounts with the trait, a type change "
        f"answers 409. {WHO_CHANGES_TRAITS}",
        parameters=[TRAIT_KEY],
        request=s.TraitUpdateSerializer,
        responses=answers(s.TraitSerializer, 400, 403, 404, 409, 415, own={409: TRAIT_IN_USE}),
        examples=[
            OpenApiExample(
                "A clearer label",
                request_only=True,
                value={"label": "Licensed seats", "help": "Seats paid for, not used."},
            ),
            OpenApiExample(
                "Values stored",
                response_only=True,
                status_codes=["400"],
                value={
                    "type": [
                        "48,210 accounts hold a value for seats, so its type stays number: "
                        "clear the values (send null for seats) or declare a new trait."
                    ]
                },
            ),
        ],
    )
    def partial_update(self, request: Request, key: str) -> Response:
        trait = self.get_object()
        data = valid_body(request, s.TraitUpdateSerializer)
        return self._answer([trait_update(actor=self.actor, trait=trait, **data)])

    @extend_schema(
        summary="Remove a trait",
        description="Only while no account holds a value for it and no criterion of a live "
        f"or open version tests it; otherwise 409 saying what holds on to it. "
        f"{WHO_CHANGES_TRAITS}",
        parameters=[TRAIT_KEY],
        request=None,
        responses=answers(
            OpenApiResponse(description="Removed."),
            403,
            404,
            409,
            ok_status=204,
            own={409: TRAIT_IN_USE},
        ),
    )
    def destroy(self, request: Request, key: str) -> Response:
        trait_delete(actor=self.actor, trait=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
