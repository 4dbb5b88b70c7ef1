"""The typed catalog answers as JSON (`to_dict`): every field but `raw`, in order."""

from __future__ import annotations

from alltoken_agent.gateway.catalog_parse import parse_health, parse_models, parse_routes


def test_model_info_to_dict_has_every_field_in_order_with_lists() -> None:
    (info,) = parse_models({"data": [{"id": "m", "input_modalities": ["text", "image"]}]})
    assert list(info.to_dict().items()) == [
        ("id", "m"),
        ("object", "model"),
        ("modality", "vision"),
        ("owned_by", None),
        ("display_name", None),
        ("brand", None),
        ("family", None),
        ("input_modalities", ["text", "image"]),
        ("output_modalities", []),
        ("capabilities", None),
    ]


def test_health_and_route_to_dict_leave_raw_out() -> None:
    summary = parse_health({"data": {"total_routes": 2, "extra": "kept in raw only"}})
    assert list(summary.to_dict()) == [
        "total_routes",
        "healthy_routes",
        "degraded_routes",
        "incident_routes",
        "median_latency_ms",
        "overall_availability",
    ]
    (route,) = parse_routes([{"model": "m", "status": "ok", "p50_ms": 3}])
    assert route.to_dict() == {
        "model": "m",
        "provider": None,
        "status": "healthy",
        "availability": None,
        "latency_p50_ms": 3.0,
        "latency_p95_ms": None,
        "throughput_tps": None,
    }
