"""The app's page table: one entry per page, read by app.py's navigation and by the Home guide.

Page ids are the URL paths and the ``page`` query parameter. The page files live in ``app_pages/``, on
purpose not ``pages/``: a ``pages/`` folder beside app.py makes Streamlit run a fresh server's very first
request through its legacy pages/ discovery, which shows sidebar links derived from the file names
(``/ga_vs_gald``…) that lead to "Page not found", and answers a link to ``/local`` with "Page not found".
Never add a ``pages/`` folder (tests/test_browser_links.py checks a fresh server's first request).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class PageInfo:
    """One page of the app.

    Attributes:
        id: URL path and ``page`` query parameter ("" URL path for the default page).
        title: navigation title.
        path: the page's file, relative to the repository root.
        icon: Streamlit material icon.
        description: what the page shows, for the Home guide ("" for Home itself).
    """

    id: str
    title: str
    path: str
    icon: str
    description: str = ""


HOME = PageInfo("home", "Home", "app_pages/home.py", ":material/home:")
PAGES: tuple[PageInfo, ...] = (
    HOME,
    PageInfo(
        "compare",
        "Compare",
        "app_pages/ga_vs_gald.py",
        ":material/compare:",
        "image, ground truth and both predictions with linked zoom; error maps, the four-way map (GALD "
        "fixes / breaks), per-image mIoU and boundary F at 3/5/9/12 px, and the GALD model's FCN → GA → "
        "GALD stage predictions (Fig. 8).",
    ),
    PageInfo(
        "local",
        "Local distribution",
        "app_pages/local_distribution.py",
        ":material/my_location:",
        "click a pixel: the LDv2 k×k weights at their dilated sampling positions, their entropy and "
        "same-class share; GA outputs and LDv1 masks (Fig. 7, 9).",
    ),
    PageInfo(
        "boundary",
        "Boundary F-scores",
        "app_pages/boundary_f.py",
        ":material/border_style:",
        "Table V layout from the results store next to the paper's published rows; per-image worst-first; "
        "F against tolerance; CSV and LaTeX export.",
    ),
    PageInfo(
        "mechanisms",
        "Mechanisms",
        "app_pages/mechanisms.py",
        ":material/query_stats:",
        "what GA and LD do over a stored data set, with bootstrap 95% intervals: accuracy, fixes and breaks, "
        "the LDv1 mask and the LDv2 same-class share by distance to the boundary and by class; knock-outs; "
        "Boundary IoU; click a band or class to list the images GALD helps or hurts most.",
    ),
)
"""Every page, in navigation order; the first is the default."""
