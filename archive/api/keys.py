"""GET /api/v1/encryption-keys/ (curators): the archive's age sealing keys and the custodians' recipients."""

from django.conf import settings
from django.db.models import F
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from archive.models import SealingKey
from archive.sealing.age import Recipient
from archive.sealing.keys import key_id_for
from core.permissions import CuratorOnly


class SealingKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = SealingKey
        fields = ["key_id", "recipient", "wrapping", "kms_key_id", "created_at", "retired_at"]


class EncryptionKeyListView(APIView):
    """Public recipients only: the archive's keys (current first, then retired, which still open older objects)
    and the escrow recipients every sealed object is also encrypted to. Never a secret or a wrapped secret."""

    permission_classes = [CuratorOnly]

    @extend_schema(responses=inline_serializer("EncryptionKeys", {
        "encrypt_at_rest": serializers.CharField(),
        "keys": SealingKeySerializer(many=True),
        "escrow_recipients": inline_serializer("EscrowRecipient", {"key_id": serializers.CharField(),
                                                                   "recipient": serializers.CharField()}, many=True),
    }))
    def get(self, request):
        # The current one (no retired_at) first, then the retired ones, newest first.
        rows = SealingKey.objects.order_by(F("retired_at").desc(nulls_first=True), "-created_at", "-id")
        escrow = [{"key_id": key_id_for(Recipient.parse(r)), "recipient": r} for r in settings.CODA_ESCROW_RECIPIENTS]
        return Response({"encrypt_at_rest": settings.CODA_ENCRYPT_AT_REST,
                         "keys": SealingKeySerializer(rows, many=True).data, "escrow_recipients": escrow})
