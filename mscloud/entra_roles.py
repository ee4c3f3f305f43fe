"""Microsoft Entra built-in roles the portal meets in GDAP relationships, by template id.

The ids are the same in every tenant and cloud; GDAP relationships and access assignments
name roles only by them (`accessDetails.unifiedRoles[].roleDefinitionId`).

# Reference: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference
"""

from __future__ import annotations

ROLE_NAMES: dict[str, str] = {
    "62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
    "f2ef992c-3afb-46b9-b7cf-a126ee74c451": "Global Reader",
    "88d8e3e3-8f55-4a1e-953a-9b9898b8876b": "Directory Readers",
    "9360feb5-f418-4baa-8175-e2a00bac4301": "Directory Writers",
    "fe930be7-5e62-47db-91af-98c3a49a38b1": "User Administrator",
    "729827e3-9c14-49f7-bb1b-9608f156bbb8": "Helpdesk Administrator",
    "966707d0-3269-4727-9be2-8c3a10f19b9d": "Password Administrator",
    "7be44c8a-adaf-4e2a-84d6-ab2649e08a13": "Privileged Authentication Administrator",
    "fdd7a751-b60b-444a-984c-02652fe8fa1c": "Groups Administrator",
    "3a2c62db-5318-420d-8d74-23affee5d9d5": "Intune Administrator",
    "7698a772-787b-4ac8-901f-60d6b08affd2": "Cloud Device Administrator",
    "158c047a-c907-4556-b7ef-446551a6b5f7": "Cloud Application Administrator",
    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": "Application Administrator",
    "e8611ab8-c189-46e8-94e1-60213ab1f814": "Privileged Role Administrator",
    "4d6ac14f-3453-41d0-bef9-a3e0c569773a": "License Administrator",
    "f023fd81-a637-4b56-95fd-791ac0226033": "Service Support Administrator",
    "29232cdf-9323-42fd-ade2-1d097af3e4de": "Exchange Administrator",
    "f28a1f50-f6e7-4571-818b-6a12f2af6b6c": "SharePoint Administrator",
    "69091246-20e8-4a56-aa4d-066075b2a7a8": "Teams Administrator",
    "194ae4cb-b126-40b2-bd5b-6091b380977d": "Security Administrator",
    "5f2222b1-57c3-48ba-8ad5-d4759f1fde6f": "Security Operator",
    "5d6b6bb7-de71-4623-b4af-96380a352509": "Security Reader",
    "17315797-102d-40b4-93e0-432062caca18": "Compliance Administrator",
    "b0f54661-2d74-4c50-afa3-1ec803f12efe": "Billing Administrator",
    "892c5842-a9a6-463a-8041-72aa08ca3cf6": "Cloud App Security Administrator",
    "11648597-926c-4cf3-9c36-bcebb0ba8dcc": "Power Platform Administrator",
    "644ef478-e28f-4e28-b9dc-3fdde9aa0b1f": "Printer Administrator",
    "e6d1a23a-da11-4be4-9570-befc86d067a7": "Compliance Data Administrator",
    "3d762c5a-1b6c-493f-843e-55a3b42923d4": "Teams Devices Administrator",
    "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2": "Hybrid Identity Administrator",
    "45d8d3c5-c802-45c6-b32a-1d70b5e1e86e": "Identity Governance Administrator",
    "c4e39bd9-1100-46d3-8c65-fb160da0071f": "Authentication Administrator",
    "0526716b-113d-4c15-b2c8-68e3c22b9f80": "Authentication Policy Administrator",
}


def role_name(template_id: str) -> str:
    """The role's display name; an unknown id is shown as itself (new roles appear)."""
    return ROLE_NAMES.get(str(template_id).lower(), str(template_id))


ROLE_IDS: dict[str, str] = {name.lower(): template_id for template_id, name in ROLE_NAMES.items()}


def role_id(name: str) -> str | None:
    """The template id of a role named as Entra shows it (case-insensitive), or None."""
    return ROLE_IDS.get(name.strip().lower())
