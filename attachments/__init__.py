"""Files in chats: images and PDFs both ways (docs/attachments.md)."""


async def erase_for_conversation(db, conversation_id: str) -> int:
    """Every file of the conversation erased (for visitors' erasure requests); see service.py."""
    from attachments.service import erase_for_conversation as erase

    return await erase(db, conversation_id)
