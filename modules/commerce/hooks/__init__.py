"""The commerce pack's code: only what its definitions can't declare.

- :mod:`.pricing` the price calculation (pure), :mod:`.quotes` its inputs;
- :mod:`.stock` levels, ledger, reservations and allocation; :mod:`.documents` stock
  documents; :mod:`.orders` placing, the status flow, cancelling, expiry;
- :mod:`.payments` providers and signed callbacks; :mod:`.checkout` carts and payment;
- :mod:`.endpoints` the API (``/api/v1/x/commerce/...``); :mod:`.jobs` scheduled jobs;
  :mod:`.demo` the demo shop; :mod:`.storefront` the shop's pages (``/p/commerce/...``).

The engine finds what this module's namespace holds (explicit imports below).
"""

from .catalogue import coupon_counter, flash_sale_counter, stamp_listing
from .demo import demo_shop
from .documents import (
    fill_book_qty,
    keep_headroom,
    ledger_is_append_only,
    ledger_keeps_rows,
    post_entry,
    post_transfer,
    post_variance,
    reverse_entry,
    reverse_transfer,
    reverse_variance,
)
from .endpoints import (
    cancel_my_order,
    cart_add,
    cart_coupon,
    cart_quote,
    cart_remove,
    cart_update,
    get_cart,
    my_order,
    my_orders,
    pay,
    place_order,
    product,
    products,
    run_allocation,
    staff_allocate,
    staff_cancel,
    staff_complete,
    staff_place,
    staff_ship,
    test_callback,
)
from .jobs import allocate_stock, expire_reservations, low_stock_alerts
from .quotes import forget_catalogue
from .storefront import (
    shop_cart,
    shop_category,
    shop_checkout,
    shop_home,
    shop_order,
    shop_orders,
    shop_product,
    shop_search,
)

__all__ = [
    "allocate_stock", "cancel_my_order", "cart_add", "cart_coupon", "cart_quote",
    "cart_remove", "cart_update", "coupon_counter", "demo_shop", "expire_reservations",
    "fill_book_qty", "flash_sale_counter", "forget_catalogue", "get_cart", "keep_headroom",
    "ledger_is_append_only", "ledger_keeps_rows", "low_stock_alerts", "my_order", "my_orders",
    "pay", "place_order", "post_entry", "post_transfer", "post_variance", "product",
    "products", "reverse_entry", "reverse_transfer", "reverse_variance", "run_allocation",
    "staff_allocate", "staff_cancel", "staff_complete", "staff_place", "staff_ship",
    "stamp_listing", "test_callback",
    # the storefront's pages (/p/commerce/...)
    "shop_cart", "shop_category", "shop_checkout", "shop_home", "shop_order", "shop_orders",
    "shop_product", "shop_search",
]
