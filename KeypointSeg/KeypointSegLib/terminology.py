"""The three structures as Slicer segments: names, label values, SNOMED CT terminology entries and colours.

Codes from DICOM CID 7152 (Cardiac Structure Segmentation Types): right ventricle 53085002, left ventricle
87878005; the myocardium is SNOMED CT 74281007 (myocardium structure) in the region of the left ventricle. Colours
are the recommended display colours of Slicer's General Anatomy list for the right and left ventricle; that list has
no myocardium, so the myocardium takes its entry for muscle.
"""

from __future__ import annotations

from dataclasses import dataclass

from KeypointEngineLib.cardiac.measurements import STRUCTURES

CONTEXT = "Segmentation category and type - 3D Slicer General Anatomy list"
ANATOMIC_CONTEXT = "Anatomic codes - DICOM master list"
CATEGORY = "SCT^123037004^Anatomical Structure"


@dataclass(frozen=True)
class Structure:
    label: int
    name: str
    type_code: str  # "SCT^code^meaning"
    region_code: str  # "" or "SCT^code^meaning"
    colour: tuple[int, int, int]

    @property
    def terminology(self) -> str:
        """Slicer's serialised terminology entry (vtkSegment.SetTerminology)."""
        return (f"{CONTEXT}~{CATEGORY}~{self.type_code}~^^~{ANATOMIC_CONTEXT}~{self.region_code or '^^'}~^^")


LEFT_VENTRICLE = "SCT^87878005^Left ventricle"
SEGMENTS = (
    Structure(1, STRUCTURES[1], "SCT^53085002^Right ventricle", "", (181, 85, 57)),
    Structure(2, STRUCTURES[2], "SCT^74281007^Myocardium", LEFT_VENTRICLE, (192, 104, 88)),
    Structure(3, STRUCTURES[3], LEFT_VENTRICLE, "", (152, 55, 13)),
)
