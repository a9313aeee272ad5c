"""Customers: read-only here (they come from the invoicing system)."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from contacts.api.base import OrganizationAPIView, query_filters
from contacts.api.filters import CustomerFilters
from contacts.api.schema import CUSTOMER_REF, READ_ERRORS
from contacts.api.serializers import CustomerSerializer
from customers.models import Customer


class CustomerList(OrganizationAPIView):
    serializer_class = CustomerSerializer
    filters = CustomerFilters

    @extend_schema(
        operation_id="listCustomers",
        tags=["customers"],
        summary="List your customers",
        description=(
            "Your organization's customers as they come from your invoicing system (read-only here), "
            "by id order, `limit` at a time."
        ),
        parameters=[CustomerFilters],
        responses={200: CustomerSerializer(many=True), **READ_ERRORS},
    )
    def get(self, request):
        filters = query_filters(CustomerFilters, request)
        customers = Customer.objects.filter(organization=self.organization).order_by("id")
        if "externalId" in filters:
            customers = customers.filter(external_id=filters["externalId"])
        return self.page(customers)


class CustomerDetail(OrganizationAPIView):
    serializer_class = CustomerSerializer
    pagination_class = None

    @extend_schema(
        operation_id="getCustomer",
        tags=["customers"],
        summary="Get a customer",
        description="One customer, by internal id or `external:CODE` (its code in your invoicing system).",
        parameters=[CUSTOMER_REF],
        responses={200: CustomerSerializer, **READ_ERRORS},
    )
    def get(self, request, id):
        return Response(CustomerSerializer(self.customer()).data)
