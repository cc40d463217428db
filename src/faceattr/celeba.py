"""The CelebA vocabulary in one place: the 40 attribute names (in the official file's order),
the order in which the BiLSTM scans them, the display groups, and the consistency rules."""

from __future__ import annotations

# The columns of list_attr_celeba.txt, in order.
CELEBA_ATTRIBUTES: tuple[str, ...] = (
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs",
    "Big_Lips", "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows",
    "Chubby", "Double_Chin", "Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones",
    "Male", "Mouth_Slightly_Open", "Mustache", "Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin",
    "Pointy_Nose", "Receding_Hairline", "Rosy_Cheeks", "Sideburns", "Smiling", "Straight_Hair",
    "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat", "Wearing_Lipstick", "Wearing_Necklace",
    "Wearing_Necktie", "Young",
)  # fmt: skip


# A semantic order for the LSTM: neighbours in the sequence are related attributes.
GROUPED_ORDER: tuple[str, ...] = (
    # hair
    "Bald", "Receding_Hairline", "Bangs", "Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair",
    "Straight_Hair", "Wavy_Hair", "Wearing_Hat",
    # beard and male-typical
    "Male", "5_o_Clock_Shadow", "Goatee", "Mustache", "No_Beard", "Sideburns",
    # make-up and female-typical
    "Heavy_Makeup", "Wearing_Lipstick", "Arched_Eyebrows", "Rosy_Cheeks", "Wearing_Earrings",
    "Wearing_Necklace", "Attractive", "Young",
    # face shape
    "Oval_Face", "Chubby", "Double_Chin", "High_Cheekbones", "Pale_Skin",
    # eyes, nose, mouth
    "Bushy_Eyebrows", "Narrow_Eyes", "Bags_Under_Eyes", "Eyeglasses", "Big_Nose", "Pointy_Nose",
    "Big_Lips", "Mouth_Slightly_Open", "Smiling",
    # image and clothing
    "Blurry", "Wearing_Necktie",
)  # fmt: skip


# Display groups: the web page shows one panel per group.
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

# Logical-consistency rules: attributes of which at most one may be present (for two: "not
# both"); evaluate counts the faces that break any of them.
# (name, attributes that are mutually exclusive)
RULES: list[tuple[str, tuple[str, ...]]] = [
    ("no beard but goatee", ("No_Beard", "Goatee")),
    ("no beard but mustache", ("No_Beard", "Mustache")),
    ("bald with bangs", ("Bald", "Bangs")),
    ("bald with black hair", ("Bald", "Black_Hair")),
    ("bald with blond hair", ("Bald", "Blond_Hair")),
    ("bald with brown hair", ("Bald", "Brown_Hair")),
    ("bald with straight hair", ("Bald", "Straight_Hair")),
    ("bald with wavy hair", ("Bald", "Wavy_Hair")),
    ("two hair colours", ("Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair")),
    ("straight and wavy hair", ("Straight_Hair", "Wavy_Hair")),
]
