#!/usr/bin/python3
"""Independent reference for the io_pbtext suite: Google's own protobuf runtime
(python3-protobuf) with the project's .proto files, loaded from protoc's descriptor set
into a private pool (so our google.protobuf.Any does not clash with the library's).

usage: pbtext_ref.py DESC TYPE text BINFILE        print text_format.MessageToString
       pbtext_ref.py DESC TYPE parse TEXTFILE OUT  text_format.Parse, write SerializeToString
       pbtext_ref.py DESC TYPE equal BIN1 BIN2     exit 0 if both decode to equal messages
"""
import sys

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format


def message_class(desc_path, type_name):
    fds = descriptor_pb2.FileDescriptorSet()
    with open(desc_path, 'rb') as f:
        fds.ParseFromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for fd in fds.file:
        pool.Add(fd)
    d = pool.FindMessageTypeByName(type_name)
    if hasattr(message_factory, 'GetMessageClass'):
        return message_factory.GetMessageClass(d)
    return message_factory.MessageFactory(pool).GetPrototype(d)


def main():
    desc, type_name, mode = sys.argv[1:4]
    cls = message_class(desc, type_name)
    if mode == 'text':
        m = cls()
        with open(sys.argv[4], 'rb') as f:
            m.ParseFromString(f.read())
        sys.stdout.write(text_format.MessageToString(m))
    elif mode == 'parse':
        m = cls()
        with open(sys.argv[4], 'r', encoding='utf-8') as f:
            text_format.Parse(f.read(), m)
        with open(sys.argv[5], 'wb') as f:
            f.write(m.SerializeToString(deterministic=True))
    elif mode == 'equal':
        a, b = cls(), cls()
        with open(sys.argv[4], 'rb') as f:
            a.ParseFromString(f.read())
        with open(sys.argv[5], 'rb') as f:
            b.ParseFromString(f.read())
        sys.exit(0 if a == b else 1)


if __name__ == '__main__':
    main()
