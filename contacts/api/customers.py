"""Customers: read-only here (they come from the invoicing system)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from contacts.api.base import CUSTOMER_REF, READ_ERRORS, OrganizationAPIView, query_filters
from contacts.api.serializers import CustomerSerializer
from customers.models import Customer


class CustomerFilters(serializers.Serializer):
    externalId = serializers.CharField(required=False, help_text="Exact external identification code.")


class CustomerList(OrganizationAPIView):
    serializer_class = CustomerSerializer

    @extend_schema(
        summary="List your customers",
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
        summary="Get a customer",
        parameters=[CUSTOMER_REF],
        responses={200: CustomerSerializer, **READ_ERRORS},
    )
    def get(self, request, id):
        return Response(CustomerSerializer(self.customer()).data)
