"""Typed tables; importing this package registers every model with the metadata."""

from tracker.models.accounts import LoginFailures, ShiftDay, ShiftRequest, User, user_shops
from tracker.models.activity import AuditEvent, Delivery, Notification
from tracker.models.buyers import Buyer
from tracker.models.campaigns import Campaign, CampaignRecipient
from tracker.models.care import CareRule
from tracker.models.cases import Case, CaseReason, ContactAttempt, Remedy
from tracker.models.catalog import Product
from tracker.models.contacts import ContactHandle, MessageTemplate, OutboundMessage, ProviderAccount
from tracker.models.credentials import SourceCredential
from tracker.models.intake import (
    ImportJob,
    PullRun,
    QuarantinedRecord,
    SchedulerLock,
    SentimentCorrection,
    ShopSentimentModel,
)
from tracker.models.orders import Order, OrderLine
from tracker.models.recommendations import CaseSuggestion, RecommenderModel
from tracker.models.reviews import Review, ReviewHourCount, ReviewRevision
from tracker.models.scripts import Script
from tracker.models.segments import BuyerSegment
from tracker.models.shop import Shop
from tracker.models.surveys import CaseSurvey
from tracker.models.work import AppThrottle, BackgroundWork, WorkerBeat

__all__ = [
    "AppThrottle",
    "AuditEvent",
    "BackgroundWork",
    "Buyer",
    "BuyerSegment",
    "Campaign",
    "CampaignRecipient",
    "CareRule",
    "Case",
    "CaseReason",
    "CaseSuggestion",
    "CaseSurvey",
    "ContactAttempt",
    "ContactHandle",
    "Delivery",
    "ImportJob",
    "LoginFailures",
    "MessageTemplate",
    "Notification",
    "Order",
    "OrderLine",
    "OutboundMessage",
    "Product",
    "ProviderAccount",
    "PullRun",
    "QuarantinedRecord",
    "RecommenderModel",
    "Remedy",
    "Review",
    "ReviewHourCount",
    "ReviewRevision",
    "SchedulerLock",
    "Script",
    "SentimentCorrection",
    "ShiftDay",
    "ShiftRequest",
    "Shop",
    "ShopSentimentModel",
    "SourceCredential",
    "User",
    "WorkerBeat",
    "user_shops",
]
