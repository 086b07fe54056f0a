#ifndef OB_CSV_H
#define OB_CSV_H
#endif
