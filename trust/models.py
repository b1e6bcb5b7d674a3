"""Organisations, people and who may see what.

Tenancy is by hub: every organisation other than a hub names the hub whose area it is in,
and hub staff see their own hub's organisations and no other hub's. Each model reachable
by URL has a ``visible_to(user)`` queryset method; views look objects up through it so
another organisation's object answers 404.
"""

from __future__ import annotations

import datetime
from functools import cached_property

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone


class Role(models.TextChoices):
    HUB_COORDINATOR = "hub_coordinator", "Hub coordinator"
    QA_LEAD = "qa_lead", "QA lead"
    TRUST_LEAD = "trust_lead", "Trust lead"
    SYSTEM_LEADER = "system_leader", "System leader"
    SCHOOL_CONTACT = "school_contact", "School contact"
    FUNDER_VIEWER = "funder_viewer", "Funder viewer"


HUB_ROLES = frozenset({Role.HUB_COORDINATOR, Role.QA_LEAD})
# Roles that choose system leaders, and so may browse the directory of them.
BROKER_ROLES = HUB_ROLES | {Role.TRUST_LEAD}


# ---------------------------------------------------------------------------- users


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("Every user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with their email address."""

    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=150)
    job_title = models.CharField(max_length=150, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    is_staff = models.BooleanField(
        "site admin", default=False, help_text="May sign in to the Django admin."
    )
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name", "email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self):
        return self.full_name or self.email

    def clean(self):
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def get_full_name(self):
        return self.full_name

    def get_short_name(self):
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @cached_property
    def active_memberships(self) -> list[Membership]:
        """This user's memberships with their organisations, loaded once per request."""
        if not self.is_authenticated or not self.is_active:
            return []
        return list(
            Membership.objects.filter(user=self, organisation__is_open=True)
            .select_related("organisation")
            .order_by("pk")
        )

    def organisation_ids_for(self, *roles: str) -> set[int]:
        return {m.organisation_id for m in self.active_memberships if m.role in roles}

    @property
    def hub_ids(self) -> set[int]:
        """The hubs this user works in or with (their own, or their organisation's)."""
        ids = set()
        for m in self.active_memberships:
            org = m.organisation
            ids.add(org.pk if org.kind == Organisation.Kind.HUB else org.hub_id)
        ids.discard(None)
        return ids

    @property
    def roles(self) -> set[str]:
        return {m.role for m in self.active_memberships}


# ---------------------------------------------------------------------- organisations


class ClusterQuerySet(models.QuerySet):
    def visible_to(self, user):
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(hub_id__in=user.hub_ids)


class Cluster(models.Model):
    """Schools in a hub's area that work together (one secondary, one special, primaries)."""

    hub = models.ForeignKey(
        "Organisation",
        on_delete=models.PROTECT,
        related_name="clusters",
        limit_choices_to={"kind": "hub"},
    )
    name = models.CharField(max_length=150)

    objects = ClusterQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["hub", "name"], name="cluster_name_unique_per_hub"),
        ]

    def __str__(self):
        return self.name


class OrganisationQuerySet(models.QuerySet):
    def schools(self):
        return self.filter(kind=Organisation.Kind.SCHOOL)

    def trusts(self):
        return self.filter(kind__in=Organisation.LEAD_KINDS)

    def open(self):
        return self.filter(is_open=True)

    def visible_to(self, user):
        """Organisations the user may see.

        Hub staff see their hub and everything in its area; a trust lead sees their trust,
        its schools and its hub; everyone else sees their own organisations and their hub.
        """
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        memberships = user.active_memberships
        if not memberships:
            return self.none()
        q = Q(pk__in={m.organisation_id for m in memberships}) | Q(pk__in=user.hub_ids)
        hub_staff_of = user.organisation_ids_for(*HUB_ROLES)
        if hub_staff_of:
            q |= Q(hub_id__in=hub_staff_of)
        trusts_led = user.organisation_ids_for(Role.TRUST_LEAD)
        if trusts_led:
            q |= Q(parent_trust_id__in=trusts_led)
        return self.filter(q)


class Organisation(models.Model):
    class Kind(models.TextChoices):
        HUB = "hub", "Teaching school hub"
        TRUST = "trust", "Trust"
        TEACHING_SCHOOL = "teaching_school", "Teaching school"
        LOCAL_AUTHORITY = "local_authority", "Local authority"
        SCHOOL = "school", "School"
        FUNDER = "funder", "Funder"

    class Phase(models.TextChoices):
        NURSERY = "nursery", "Nursery"
        PRIMARY = "primary", "Primary"
        MIDDLE = "middle", "Middle"
        SECONDARY = "secondary", "Secondary"
        ALL_THROUGH = "all_through", "All-through"
        SPECIAL = "special", "Special"
        ALTERNATIVE = "alternative", "Alternative provision"
        POST_16 = "post_16", "16 plus"
        NOT_APPLICABLE = "not_applicable", "Not applicable"

    LEAD_KINDS = (Kind.TRUST, Kind.TEACHING_SCHOOL)

    kind = models.CharField(max_length=20, choices=Kind.choices, db_index=True)
    name = models.CharField(max_length=200)
    urn = models.CharField(
        "URN",
        max_length=6,
        unique=True,
        null=True,
        blank=True,
        validators=[RegexValidator(r"^\d{6}$", "A URN is exactly 6 digits.")],
        help_text="Unique reference number from Get Information about Schools (schools only).",
    )
    phase = models.CharField(max_length=20, choices=Phase.choices, blank=True)
    establishment_type = models.CharField(max_length=100, blank=True)
    local_authority = models.CharField(max_length=100, blank=True, db_index=True)
    postcode = models.CharField(max_length=10, blank=True)
    easting = models.PositiveIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(700_000)]
    )
    northing = models.PositiveIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(1_300_000)]
    )
    hub = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="area_organisations",
        limit_choices_to={"kind": Kind.HUB},
        help_text="The teaching school hub whose area this organisation is in.",
    )
    parent_trust = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="academies",
        limit_choices_to={"kind__in": LEAD_KINDS},
    )
    cluster = models.ForeignKey(
        Cluster, on_delete=models.SET_NULL, null=True, blank=True, related_name="schools"
    )
    is_open = models.BooleanField("open", default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["hub", "kind", "name"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(urn__isnull=True) | Q(kind="school"),
                name="organisation_urn_only_for_schools",
            ),
            models.CheckConstraint(
                condition=Q(hub__isnull=True) | ~Q(kind="hub"),
                name="organisation_hub_has_no_hub",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("trust:organisation_detail", args=[self.pk])

    def clean(self):
        super().clean()
        errors = {}
        if self.kind == self.Kind.SCHOOL and not self.urn:
            errors["urn"] = "A school needs its 6-digit URN."
        if self.kind != self.Kind.SCHOOL and self.urn:
            errors["urn"] = "Only schools have a URN."
        if self.kind == self.Kind.HUB and self.hub_id:
            errors["hub"] = "A hub does not belong to another hub."
        if self.parent_trust_id and self.parent_trust_id == self.pk:
            errors["parent_trust"] = "An organisation cannot be its own trust."
        if self.cluster_id and self.hub_id and self.cluster.hub_id != self.hub_id:
            errors["cluster"] = "That cluster belongs to another hub."
        if errors:
            raise ValidationError(errors)

    @property
    def is_school(self):
        return self.kind == self.Kind.SCHOOL


class MembershipQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Memberships (people in roles) the user may see: those of organisations they may
        see, except that outside hub staff and trust leads people see only their own
        organisations' people and their hub's staff."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        own = {m.organisation_id for m in user.active_memberships}
        q = Q(organisation_id__in=own) | Q(organisation_id__in=user.hub_ids, role__in=HUB_ROLES)
        hub_staff_of = user.organisation_ids_for(*HUB_ROLES)
        if hub_staff_of:
            q |= Q(organisation__hub_id__in=hub_staff_of)
        trusts_led = user.organisation_ids_for(Role.TRUST_LEAD)
        if trusts_led:
            q |= Q(organisation__parent_trust_id__in=trusts_led)
        return self.filter(q)


class Membership(models.Model):
    """A user's role at an organisation. A user may hold several."""

    ROLE_KINDS = {
        Role.HUB_COORDINATOR: {Organisation.Kind.HUB},
        Role.QA_LEAD: {Organisation.Kind.HUB},
        Role.TRUST_LEAD: set(Organisation.LEAD_KINDS),
        Role.SYSTEM_LEADER: {
            Organisation.Kind.SCHOOL,
            Organisation.Kind.TRUST,
            Organisation.Kind.TEACHING_SCHOOL,
        },
        Role.SCHOOL_CONTACT: {Organisation.Kind.SCHOOL},
        Role.FUNDER_VIEWER: {Organisation.Kind.FUNDER},
    }

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["organisation__name", "role", "user__full_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation", "role"], name="membership_unique_role"
            ),
        ]

    def __str__(self):
        return f"{self.user} — {self.get_role_display()} at {self.organisation}"

    def clean(self):
        super().clean()
        if self.organisation_id and self.role:
            allowed = self.ROLE_KINDS[self.role]
            if self.organisation.kind not in allowed:
                kinds = " or ".join(sorted(Organisation.Kind(k).label.lower() for k in allowed))
                raise ValidationError(
                    {"role": f"A {self.get_role_display().lower()} must belong to a {kinds}."}
                )


# ------------------------------------------------------------------- system leaders


# Matched against the need areas of support requests; the first migration adds them and
# admins may add more.
DEFAULT_SPECIALISMS = [
    ("leadership", "Leadership"),
    ("english", "English"),
    ("reading-phonics", "Reading and phonics"),
    ("maths", "Mathematics"),
    ("science", "Science"),
    ("humanities", "Humanities"),
    ("mfl", "Modern foreign languages"),
    ("computing", "Computing"),
    ("arts", "Arts"),
    ("pe", "Physical education"),
    ("send", "SEND"),
    ("early-years", "Early years"),
    ("behaviour-attendance", "Behaviour and attendance"),
    ("safeguarding", "Safeguarding"),
    ("governance", "Governance"),
    ("curriculum", "Curriculum"),
    ("assessment", "Assessment"),
    ("disadvantaged", "Disadvantaged pupils"),
]


class Specialism(models.Model):
    """An area of expertise a system leader offers, matched against a request's needs."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class SystemLeaderProfileQuerySet(models.QuerySet):
    def active(self):
        return self.filter(active=True, user__is_active=True)

    def visible_to(self, user):
        """Hub staff see the system leaders based in their hub's area; a trust lead sees
        those based in the trust or its schools; a system leader sees their own profile."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        homes = Q(pk__in=[])
        hub_staff_of = user.organisation_ids_for(*HUB_ROLES)
        if hub_staff_of:
            homes |= Q(organisation__hub_id__in=hub_staff_of)
        trusts_led = user.organisation_ids_for(Role.TRUST_LEAD)
        if trusts_led:
            homes |= Q(organisation_id__in=trusts_led) | Q(
                organisation__parent_trust_id__in=trusts_led
            )
        leader_user_ids = Membership.objects.filter(homes, role=Role.SYSTEM_LEADER).values(
            "user_id"
        )
        return self.filter(Q(user=user) | Q(user_id__in=leader_user_ids))


class SystemLeaderProfile(models.Model):
    class Designation(models.TextChoices):
        NLE = "nle", "National Leader of Education"
        LLE = "lle", "Local Leader of Education"
        SLE = "sle", "Specialist Leader of Education"
        LP = "lp", "Leading Practitioner"
        OTHER = "other", "Other"

    # A DBS check older than this is flagged for renewal.
    DBS_RENEWAL = datetime.timedelta(days=3 * 365)

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="leader_profile")
    designation = models.CharField(max_length=10, choices=Designation.choices)
    specialisms = models.ManyToManyField(Specialism, blank=True, related_name="leaders")
    phases = models.JSONField(
        default=list,
        blank=True,
        help_text="Phases this leader can support, e.g. primary, secondary, special.",
    )
    capacity_days_per_term = models.DecimalField(
        "capacity (days per term)",
        max_digits=4,
        decimal_places=1,
        validators=[MinValueValidator(0), MaxValueValidator(65)],
    )
    accreditation_expires = models.DateField(null=True, blank=True)
    dbs_checked_on = models.DateField("DBS check date", null=True, blank=True)
    active = models.BooleanField(default=True)
    summary = models.TextField(blank=True, help_text="Experience, in a few sentences.")
    updated_at = models.DateTimeField(auto_now=True)

    objects = SystemLeaderProfileQuerySet.as_manager()

    class Meta:
        ordering = ["user__full_name"]

    def __str__(self):
        return f"{self.user} ({self.get_designation_display()})"

    def get_absolute_url(self):
        return reverse("trust:leader_detail", args=[self.pk])

    def clean(self):
        super().clean()
        valid = set(Organisation.Phase.values)
        if not isinstance(self.phases, list) or not set(self.phases) <= valid:
            raise ValidationError({"phases": "Choose phases from the list."})

    def accreditation_expired(self, on: datetime.date | None = None) -> bool:
        on = on or timezone.localdate()
        return self.accreditation_expires is not None and self.accreditation_expires < on

    def dbs_due(self, on: datetime.date | None = None) -> bool:
        on = on or timezone.localdate()
        return self.dbs_checked_on is None or self.dbs_checked_on + self.DBS_RENEWAL < on

    def get_phases_display(self) -> str:
        return ", ".join(Organisation.Phase(p).label for p in self.phases)

    @property
    def home_organisations(self):
        return [
            m.organisation for m in self.user.memberships.all() if m.role == Role.SYSTEM_LEADER
        ]


# ------------------------------------------------------------------- school imports


class SchoolImportQuerySet(models.QuerySet):
    def visible_to(self, user):
        """A hub's coordinators see its imports."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_superuser:
            return self.all()
        return self.filter(hub_id__in=user.organisation_ids_for(Role.HUB_COORDINATOR))


class SchoolImport(models.Model):
    """An establishment CSV uploaded by a hub coordinator, imported by a Celery worker.

    The file is kept in the database rather than on disk so that a worker on another host
    can read it; it is cleared once the import has run.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to start"
        RUNNING = "running", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Could not be imported"

    hub = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="school_imports",
        limit_choices_to={"kind": Organisation.Kind.HUB},
    )
    uploaded_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="school_imports"
    )
    file_name = models.CharField(max_length=255)
    data = models.BinaryField(editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    closed = models.PositiveIntegerField(default=0)
    trusts_created = models.PositiveIntegerField(default=0)
    row_errors = models.JSONField(default=list, blank=True)
    failure = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = SchoolImportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.file_name} ({self.get_status_display()})"

    def get_absolute_url(self):
        return reverse("trust:school_import_detail", args=[self.pk])

    @property
    def finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.FAILED}


# ------------------------------------------------------------------------- audit


class AuditEvent(models.Model):
    """Something a person did that leaves no other trace: signing in (or failing to),
    downloading a PDF, exporting data, opening a record flagged with a safeguarding
    concern. Written by ``trust.audit.record``; never changed afterwards."""

    class Action(models.TextChoices):
        LOGIN = "login", "Signed in"
        LOGIN_FAILED = "login_failed", "Failed sign-in"
        LOGOUT = "logout", "Signed out"
        PDF_DOWNLOAD = "pdf_download", "Downloaded a PDF"
        EXPORT = "export", "Exported data"
        SAFEGUARDING_VIEW = "safeguarding_view", "Opened a safeguarding-flagged record"
        PERSONAL_DATA_EXPORT = "personal_data_export", "Exported personal data"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        "User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Kept as typed when the account is deleted, or for a failed sign-in with no account.
    email = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=30, choices=Action.choices, db_index=True)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_label = models.CharField(max_length=200, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    ip = models.GenericIPAddressField("IP address", null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["object_type", "object_id", "-at"])]

    def __str__(self):
        who = self.email or "someone"
        what = f" {self.object_label}" if self.object_label else ""
        return f"{self.at:%Y-%m-%d %H:%M} {who}: {self.get_action_display()}{what}"
