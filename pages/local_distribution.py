"""Local distribution: click a pixel and see what LDv2 mixes there, next to GA outputs and LDv1 masks."""

from functools import partial

import streamlit as st
from streamlit_image_coordinates import streamlit_image_coordinates

from gald_viz.hooks import available_taps
from gald_viz.ui import cache
from gald_viz.ui.page import page_setup
from gald_viz.ui.pointer import accept_click, current_pixel, last_click
from gald_viz.ui.widgets import export_buttons
from gald_viz.viz import paper_figures as pf
from gald_viz.viz.features import FEATURE_VIEWS, channel_mean
from gald_viz.viz.figures import weights_heatmap
from gald_viz.viz.inspector import BACKGROUNDS, click_view
from gald_viz.viz.overlays import display_size, draw_crosshair

DISPLAY_WIDTH = 1024
CLICK_KEY = "ld.click"

settings = page_setup("local")
sample = settings.sample
image, gt = sample.image, sample.label
h, w = image.shape[:2]

st.title("Local distribution")
choices = {"GALD model": settings.gald, "GA model": settings.ga}
which = st.segmented_control(
    "Inspect",
    list(choices),
    default="GALD model",
    required=True,
    key="ld.which",
    format_func=lambda role: f"{role}: {choices[role].name}",
)
loaded = choices[which or "GALD model"]
an = cache.analysis(loaded.key, settings.image_key, loaded, image)
accept_click(CLICK_KEY, an.native_size)
x, y = current_pixel(an.native_size)

taps = {t.name: t for t in available_taps(loaded.model)}
view_col, channel_col, mask_col, bg_col = st.columns(4)
ga_view = view_col.selectbox("GA features X_g as", FEATURE_VIEWS, key="ld.ga_view", disabled="ga" not in taps)
ga_channels = taps["ga"].channels if "ga" in taps else 1
ga_channel = channel_col.number_input(
    "X_g channel",
    0,
    ga_channels - 1,
    0,
    key="ld.ga_channel",
    disabled=ga_view != "one channel" or "ga" not in taps,
)
mask_channel = None
if an.ldv1_mask is not None:
    chosen = mask_col.number_input(
        "LDv1 channel of M (−1: none)", -1, an.ldv1_mask.shape[0] - 1, -1, key="ld.mask_channel"
    )
    mask_channel = None if chosen < 0 else int(chosen)
background = bg_col.selectbox("Click on", BACKGROUNDS, key="ld.background")

dh, dw = display_size(h, w, max_width=DISPLAY_WIDTH)
ga_features = an.ga_features if ga_view != "channel mean" else None
entropy = share = None
if an.affinity is not None:
    entropy, share = cache.affinity_maps(loaded.key, settings.image_key, an, gt)
static = cache.inspector_panels(
    loaded.key,
    settings.image_key,
    ((dh, dw), background, settings.opacity, ga_view, int(ga_channel), mask_channel),
    an,
    sample,
    ga_features,
    entropy,
    share,
)
view = click_view(an, image, gt, static, (x, y), click=last_click())

for line in static.missing:
    st.info(f"`{loaded.name}`: {line}")

click_col, info_col = st.columns([5, 3])
with click_col:
    st.markdown(
        "**Click the image** to inspect a pixel"
        + (" (LDv2 window drawn in place)." if view.affinity else ".")
    )
    streamlit_image_coordinates(
        view.clickable,
        key=CLICK_KEY,
        use_column_width="always",
        on_click=partial(accept_click, CLICK_KEY, an.native_size),
        cursor="crosshair",
        image_format="JPEG",
        jpeg_quality=90,
    )
    st.markdown(f"**Point:** {view.chain.text()}")
with info_col:
    st.markdown(f"**Native pixel:** `x={x}, y={y}`")
    st.dataframe(
        {"read-out": list(view.values), "value": list(view.values.values())},
        hide_index=True,
        width="stretch",
        column_config={
            "read-out": st.column_config.TextColumn(width="medium"),
            "value": st.column_config.TextColumn(width="large"),
        },
        key="ld.readout",
    )
    if view.affinity is not None:
        st.plotly_chart(
            weights_heatmap(view.affinity.weights, view.affinity.inside, dilation=an.ldv2_dilation),
            key="ld.heatmap",
        )

if view.affinity is not None:
    st.subheader(
        f"LDv2 affinity at ({x}, {y}): {an.ldv2_kernel}×{an.ldv2_kernel} weights, dilation {an.ldv2_dilation}"
    )
    crop_col, table_col = st.columns([2, 3])
    crop_col.image(view.crop.rgb, caption="Sampling positions around the point (grey × = outside the image)")
    with table_col:
        st.markdown("**Weights** (rows dy, columns dx, in feature cells; they sum to 1)")
        st.table(view.table.style.format("{:.4f}"))
        st.caption(
            f"Entropy {view.affinity.entropy:.3f} nats (uniform = ln {an.ldv2_kernel**2}); share on "
            f"neighbours with the clicked pixel's GT class: {view.values['same-GT-class share']}. Outside "
            "positions are zero-padded keys: they keep a softmax weight but add no value."
        )
    caption = (
        f"LDv2 affinity (GALD Eq. 7) of {loaded.name} at native pixel ({x}, {y}) of {sample.name} ({w}×{h}); "
        f"feature cell {view.affinity.cell}, k={an.ldv2_kernel}, r={an.ldv2_dilation}, "
        f"{an.effective_stride[1]:g} native px per cell; entropy {view.affinity.entropy:.3f} nats; "
        f"same-GT-class share {view.values['same-GT-class share']}."
    )
    st.caption("Export Fig. 9 layout")
    export_buttons(
        "ld.export_fig9",
        lambda: pf.fig9_affinity(
            view.crop.rgb,
            view.affinity.weights,
            view.affinity.inside,
            draw_crosshair(image, x + 0.5, y + 0.5),
            marker=(x, y),
            caption=caption,
            window=view.crop.window,
        ),
        f"affinity_{sample.name}_{x}_{y}",
    )

st.subheader("GA outputs, LDv1 mask and affinity maps")
st.caption(
    "Crosshair at the clicked pixel on every map; maps live at feature resolution (one block per cell)."
)
titles = list(view.panels)
for start in range(0, len(titles), 3):
    cols = st.columns(3)
    for col, title in zip(cols, titles[start : start + 3], strict=False):
        col.image(view.panels[title], caption=title, width="stretch")

base_caption = f"{loaded.name} on {sample.name} ({w}×{h}), {settings.source_text}."
if an.ldv1_mask is not None:
    st.caption("Export Fig. 7 layout (LDv1 mask)")
    export_buttons(
        "ld.export_fig7",
        lambda: pf.fig7_ldv1_mask(
            image,
            channel_mean(an.ldv1_mask),
            an.pred,
            caption="LDv1 mask M (GALD Eq. 1), mean over channels in [0, 1]. " + base_caption,
            channel=None if mask_channel is None else (mask_channel, an.ldv1_mask[mask_channel]),
        ),
        f"ldv1_mask_{sample.name}",
    )
if view.panels:
    st.caption("Export these maps")
    export_buttons(
        "ld.export_maps",
        lambda: pf.layout(
            [pf.Panel(title, rgb) for title, rgb in view.panels.items()],
            caption=f"Maps with the clicked pixel ({x}, {y}) marked. " + base_caption,
            ncols=min(3, len(view.panels)),
            legend_classes=pf.classes_present(an.pred),
        ),
        f"maps_{sample.name}",
    )
