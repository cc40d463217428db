"""Attribute groups for display (the page shows one panel per group)."""

from __future__ import annotations

GROUPS: dict[str, tuple[str, ...]] = {
    "Hair": ("Bald", "Receding_Hairline", "Bangs", "Black_Hair", "Blond_Hair", "Brown_Hair",
             "Gray_Hair", "Straight_Hair", "Wavy_Hair"),
    "Beard": ("5_o_Clock_Shadow", "Goatee", "Mustache", "No_Beard", "Sideburns"),
    "Face": ("Oval_Face", "Chubby", "Double_Chin", "High_Cheekbones", "Pale_Skin", "Rosy_Cheeks",
             "Bushy_Eyebrows", "Arched_Eyebrows", "Narrow_Eyes", "Bags_Under_Eyes", "Big_Nose",
             "Pointy_Nose", "Big_Lips", "Mouth_Slightly_Open", "Smiling"),
    "Make-up & accessories": ("Heavy_Makeup", "Wearing_Lipstick", "Eyeglasses", "Wearing_Hat",
                              "Wearing_Earrings", "Wearing_Necklace", "Wearing_Necktie"),
    "Overall": ("Male", "Young", "Attractive", "Blurry"),
}


def attribute_groups(attributes: list[str]) -> dict[str, list[str]]:
    """Group the model's attributes; any not in a known group go to "Other"."""
    out = {g: [a for a in names if a in attributes] for g, names in GROUPS.items()}
    known = {a for names in GROUPS.values() for a in names}
    other = [a for a in attributes if a not in known]
    if other:
        out["Other"] = other
    return {g: v for g, v in out.items() if v}
